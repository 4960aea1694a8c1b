namespace SrsProxy.Tests.Deploy;

/// <summary>The metric-name extraction the dashboard test relies on: if it missed a name, a typo would pass.</summary>
public class PromQlTests
{
    [Theory]
    [InlineData("sum by (direction) (rate(srs_proxy_rtc_datagrams_total{instance=~\"$instance\"}[$__rate_interval]))", "srs_proxy_rtc_datagrams_total")]
    [InlineData("8 * sum by (direction) (rate(srs_proxy_rtc_bytes_total[5m]))", "srs_proxy_rtc_bytes_total")]
    [InlineData("sum(rate(a_total{status=~\"5..\"}[1m])) / sum(rate(a_total[1m]))", "a_total")]
    [InlineData("max by (state) (srs_proxy_origins) or on(instance) vector(0)", "srs_proxy_origins")]
    [InlineData("histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[5m]))) > bool 1e3", "x_seconds_bucket")]
    [InlineData("rate(srs_proxy_rtc_datagrams_totl[5m])", "srs_proxy_rtc_datagrams_totl")]
    public void MetricNames_FindsEverySelectedMetric_AndNothingElse(string expression, string expected) =>
        Assert.Equal([expected], PromQl.MetricNames(expression));

    [Fact]
    public void IsExported_AMisspeltName_IsNot_AHistogramsSeriesAre()
    {
        var families = new Dictionary<string, string> { ["srs_proxy_rtc_datagrams_total"] = "counter", ["x_seconds"] = "histogram" };
        Assert.True(PromQl.IsExported("srs_proxy_rtc_datagrams_total", families));
        Assert.False(PromQl.IsExported("srs_proxy_rtc_datagrams_totl", families));
        Assert.False(PromQl.IsExported("srs_proxy_rtc_datagrams", families));
        Assert.True(PromQl.IsExported("x_seconds_bucket", families));
        Assert.True(PromQl.IsExported("x_seconds_count", families));
        Assert.False(PromQl.IsExported("srs_proxy_rtc_datagrams_total_count", families));
    }
}
