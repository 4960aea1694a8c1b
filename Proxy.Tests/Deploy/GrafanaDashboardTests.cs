using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// deploy/grafana/srs-proxy.json against a running proxy's /metrics. No Grafana or Prometheus runs here, so
/// the panels' rendering is not checked; that every query asks for something the proxy exports is.
/// </summary>
public partial class GrafanaDashboardTests
{
    private static readonly JsonElement Dashboard = JsonDocument.Parse(File.ReadAllText(DeployKit.File("grafana", "srs-proxy.json"))).RootElement;

    /// <summary>Every panel, those inside collapsed rows too.</summary>
    private static IEnumerable<JsonElement> Panels => Dashboard.GetProperty("panels").EnumerateArray()
        .SelectMany(p => p.TryGetProperty("panels", out var inner) ? inner.EnumerateArray().Prepend(p) : [p]);

    /// <summary>
    /// Fails on: a query naming a metric the proxy does not export (a typo, a counter without its <c>_total</c>,
    /// a metric renamed in Proxy/Metrics and not here), a query naming no metric at all, an instance variable
    /// whose label_values metric is not exported.
    /// </summary>
    [Fact]
    public async Task Dashboard_EveryQuery_NamesOnlyFamiliesTheProxyExports()
    {
        await using var proxy = await TestProxy.StartAsync();

        // The signalling counter is written once a request was answered: a WHEP offer with no origin gets 503.
        const string sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=dashboard"), new StringContent(sdp, Encoding.ASCII, "application/sdp"));
        var families = (await proxy.MetricsAsync()).Split('\n')
            .Select(line => TypeLine().Match(line))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["type"].Value, StringComparer.Ordinal);
        Assert.Contains("srs_proxy_signalling_requests_total", families.Keys);

        var queries = Panels.Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (Panel: p.GetProperty("title").GetString()!, Expression: t.GetProperty("expr").GetString()!)))
            .ToList();
        Assert.NotEmpty(queries);
        foreach (var (panel, expression) in queries)
        {
            var names = PromQl.MetricNames(expression);
            Assert.True(names.Count > 0, $"{panel}: no metric in {expression}");
            Assert.All(names, name => Assert.True(PromQl.IsExported(name, families), $"{panel}: {name} is not exported by the proxy ({expression})"));
        }

        foreach (var variable in Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Where(v => v.GetProperty("type").GetString() == "query"))
        {
            var metric = LabelValues().Match(variable.GetProperty("definition").GetString()!);
            Assert.True(metric.Success && PromQl.IsExported(metric.Groups["metric"].Value, families), $"variable {variable.GetProperty("name")}: {variable.GetProperty("definition")}");
        }
    }

    /// <summary>Fails on: a panel or query bound to a fixed data source instead of the dashboard's Prometheus variable.</summary>
    [Fact]
    public void Dashboard_EveryQuery_UsesTheDatasourceVariable()
    {
        Assert.Contains(Dashboard.GetProperty("templating").GetProperty("list").EnumerateArray(), v => v.GetProperty("name").GetString() == "datasource" && v.GetProperty("query").GetString() == "prometheus");
        foreach (var panel in Panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
        }
    }

    [GeneratedRegex(@"^# TYPE (?<name>\S+) (?<type>\S+)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^label_values\(\s*(?<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*[,{)]")]
    private static partial Regex LabelValues();
}
