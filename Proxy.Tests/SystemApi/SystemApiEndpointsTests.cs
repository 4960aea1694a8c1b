using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SrsProxy.Configuration;
using SrsProxy.Streams;
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

    private const string Token = "8x-heartbeat-token";

    /// <summary>The proxy with the token of srs-proxy 8.x's settings, read as from its environment.</summary>
    private static Task<TestProxy> StartWithReferenceAuthAsync()
    {
        var configured = ProxyOptionsParser.Parse(new Dictionary<string, string>
        {
            ["PROXY_HTTP_API_AUTH_ENABLED"] = "on",
            ["PROXY_HTTP_API_AUTH_TYPE"] = "bearer",
            ["PROXY_HTTP_API_AUTH_TOKEN"] = Token,
        });
        return TestProxy.StartAsync(o => o with { SystemApiToken = configured.SystemApiToken });
    }

    private static HttpRequestMessage Heartbeat(TestProxy proxy, string? scheme, string? credentials) => new(HttpMethod.Post, proxy.RegisterUrl)
    {
        Content = new StringContent(RegistrationParserTests.SrsBody, Encoding.UTF8, "application/json"),
        Headers = { Authorization = scheme is null ? null : new AuthenticationHeaderValue(scheme, credentials) },
    };

    private static async Task<JsonElement> GetWithTokenAsync(TestProxy proxy, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(proxy.SystemApi, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await proxy.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>An SRS origin with <c>SRS_HEARTBEAT_AUTH_*</c> set sends its token as a Bearer header.</summary>
    [Fact]
    public async Task Register_ReferenceAuth_BearerHeartbeat_RegistersAndOriginIsPicked()
    {
        await using var proxy = await StartWithReferenceAuthAsync();
        using var response = await proxy.Http.SendAsync(Heartbeat(proxy, "Bearer", Token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetInt32());

        var origin = (await GetWithTokenAsync(proxy, "api/v1/origins")).GetProperty("origins").EnumerateArray().Single();
        Assert.Equal("vid-xxx-yyy-1234", origin.GetProperty("id").GetString());
        Assert.True(origin.GetProperty("alive").GetBoolean());
        var picked = await proxy.Registry.PickOriginAsync(new StreamUrl("__defaultVhost__", "live", "livestream"), CancellationToken.None);
        Assert.Equal("vid-xxx-yyy-1234", picked.Id);
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("Bearer", "wrong-token", true)]
    [InlineData("Bearer", Token + "x", true)]
    [InlineData("Basic", "dXNlcjo4eC1oZWFydGJlYXQtdG9rZW4=", false)]
    public async Task Register_ReferenceAuth_WithoutTheToken_Is401WithChallenge_NothingRegistered(string? scheme, string? credentials, bool invalidToken)
    {
        await using var proxy = await StartWithReferenceAuthAsync();
        using var response = await proxy.Http.SendAsync(Heartbeat(proxy, scheme, credentials));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Contains("realm=\"srs-proxy\"", challenge.Parameter);
        Assert.Equal(invalidToken, challenge.Parameter!.Contains("error=\"invalid_token\"", StringComparison.Ordinal));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain(Token, problem.GetProperty("detail").GetString());

        Assert.Empty((await GetWithTokenAsync(proxy, "api/v1/origins")).GetProperty("origins").EnumerateArray());
        await Assert.ThrowsAsync<SrsProxy.Registry.NoOriginAvailableException>(async () =>
            await proxy.Registry.PickOriginAsync(new StreamUrl("__defaultVhost__", "live", "livestream"), CancellationToken.None));
    }

    /// <summary>Operator data (origin addresses, player addresses) needs the token; probes and scrapers do not.</summary>
    [Theory]
    [InlineData("api/v1/origins", HttpStatusCode.Unauthorized)]
    [InlineData("api/v1/streams", HttpStatusCode.Unauthorized)]
    [InlineData("api/v1/sessions", HttpStatusCode.Unauthorized)]
    [InlineData("api/v1/versions", HttpStatusCode.OK)]
    [InlineData("metrics", HttpStatusCode.OK)]
    public async Task Get_WithTokenSet_OperatorDataNeedsIt_ProbesDoNot(string path, HttpStatusCode anonymous)
    {
        await using var proxy = await StartWithReferenceAuthAsync();
        using var response = await proxy.Http.GetAsync(new Uri(proxy.SystemApi, path));
        Assert.Equal(anonymous, response.StatusCode);
        if (anonymous == HttpStatusCode.Unauthorized)
        {
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
            await GetWithTokenAsync(proxy, path);
        }
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
