using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.SystemApi;

/// <summary>The system API through the real proxy, as an SRS origin and an operator use it.</summary>
public class SystemApiEndpointsTests
{
    [Fact]
    public async Task Register_SrsBody_AnswersCodeZeroAndPid_OriginListed()
    {
        await using var proxy = await TestProxy.StartAsync();
        var response = await proxy.Http.PostAsync(proxy.RegisterUrl, new StringContent(RegistrationParserTests.SrsBody));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0, answer.GetProperty("code").GetInt32());
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), answer.GetProperty("pid").GetString());

        var origin = (await proxy.GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray().Single();
        Assert.Equal("vid-xxx-yyy-1234", origin.GetProperty("id").GetString());
        Assert.True(origin.GetProperty("alive").GetBoolean());
        Assert.Equal(0, origin.GetProperty("active_sessions").GetInt32());
        Assert.InRange(origin.GetProperty("heartbeat_age_seconds").GetDouble(), 0, 5);
        Assert.Equal("udp://0.0.0.0:8001", origin.GetProperty("endpoints").GetProperty("rtc")[0].GetString());
    }

    [Theory]
    [InlineData("{\"server\":\"s\",\"service\":\"v\",\"pid\":\"1\",\"rtmp\":[\"1935\"]}", "ip")]
    [InlineData("{\"ip\":\"127.0.0.1\",\"service\":\"v\",\"pid\":\"1\",\"rtmp\":[\"1935\"]}", "server")]
    [InlineData("{\"ip\":\"127.0.0.1\",\"server\":\"s\",\"service\":\"v\",\"pid\":\"1\"}", "rtmp")]
    [InlineData("{\"ip\":\"127.0.0.1\",\"server\":\"s\",\"service\":\"v\",\"pid\":\"1\",\"rtmp\":[\"1935\"],\"rtc\":[\"udp://x:y\"]}", "rtc[0]")]
    [InlineData("{not json", "body")]
    public async Task Register_BadBody_Is400NamingField_NothingStored(string body, string field)
    {
        await using var proxy = await TestProxy.StartAsync();
        var response = await proxy.Http.PostAsync(proxy.RegisterUrl, new StringContent(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith(field + ":", detail);
        Assert.Empty((await proxy.GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray());
    }

    [Fact]
    public async Task Register_WithToken_RequiresIt()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { SystemApiToken = "s3cret" });
        var anonymous = await proxy.Http.PostAsync(proxy.RegisterUrl, new StringContent(RegistrationParserTests.SrsBody));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var query = await proxy.Http.PostAsync(new Uri(proxy.RegisterUrl + "?token=s3cret"), new StringContent(RegistrationParserTests.SrsBody));
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);

        var request = new HttpRequestMessage(HttpMethod.Post, proxy.RegisterUrl) { Content = new StringContent(RegistrationParserTests.SrsBody) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Register_OversizedBody_Is413()
    {
        await using var proxy = await TestProxy.StartAsync();
        var response = await proxy.Http.PostAsync(proxy.RegisterUrl, new StringContent(new string(' ', 100_000) + RegistrationParserTests.SrsBody));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_PrometheusText_HasRelayAndRuntimeFigures()
    {
        await using var proxy = await TestProxy.StartAsync();
        var text = await proxy.MetricsAsync();
        Assert.Contains("# TYPE srs_proxy_rtc_datagrams_total counter", text);
        Assert.Contains("srs_proxy_rtc_dropped_total{reason=\"unknown_address\"} 0", text);
        Assert.Contains("srs_proxy_origins{state=\"alive\"} 0", text);
        Assert.Contains("dotnet_gc_collections_total{gc_heap_generation=\"gen0\"}", text);
    }
}
