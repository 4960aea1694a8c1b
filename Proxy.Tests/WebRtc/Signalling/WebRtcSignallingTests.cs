using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SrsProxy.Tests.Common;
using SrsProxy.Tests.SystemApi;

namespace SrsProxy.Tests.WebRtc.Signalling;

/// <summary>
/// Signalling errors through the real proxy. Where an origin must misbehave on cue (never answer, refuse
/// connections), a bare loopback socket plays it: that fault is what the test injects.
/// </summary>
public class WebRtcSignallingTests
{
    private const string Offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";

    private static StringContent Sdp(string body) => new(body, Encoding.UTF8, "application/sdp");

    private static async Task RegisterAsync(TestProxy proxy, int apiPort, string server = "o1")
    {
        var body = SrsBodyWith(apiPort, server);
        var response = await proxy.Http.PostAsync(proxy.RegisterUrl, new StringContent(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static string SrsBodyWith(int apiPort, string server) =>
        RegistrationParserTests.SrsBody.Replace("\"19851\"", $"\"{apiPort}\"").Replace("vid-xxx", server);

    private static async Task<JsonElement> ProblemOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task Offer_NoOrigin_Is503WithRetryAfter()
    {
        await using var proxy = await TestProxy.StartAsync();
        var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream"), Sdp(Offer));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("no alive origin", (await ProblemOf(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Offer_OriginRefusesConnections_Is502()
    {
        await using var proxy = await TestProxy.StartAsync();
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        closed.Close();
        await RegisterAsync(proxy, port);

        var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream"), Sdp(Offer));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("unreachable", (await ProblemOf(response)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Offer_OriginNeverAnswers_Is504AfterTimeout()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { OriginTimeout = TimeSpan.FromSeconds(1) });
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        await RegisterAsync(proxy, ((IPEndPoint)silent.LocalEndpoint).Port);

        var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whip/?app=live&stream=livestream"), Sdp(Offer));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(0, proxy.Relay.SessionCount);
    }

    [Theory]
    [InlineData("not sdp at all", "rtc/v1/whep/?app=live&stream=s", HttpStatusCode.BadRequest)]
    [InlineData("v=0\r\ns=-\r\n", "rtc/v1/whep/?app=live&stream=s", HttpStatusCode.BadRequest)]
    [InlineData(Offer, "rtc/v1/whep/", HttpStatusCode.BadRequest)]
    [InlineData(Offer, "rtc/v1/whep/?app=live", HttpStatusCode.BadRequest)]
    public async Task Offer_Malformed_Is400(string body, string path, HttpStatusCode expected)
    {
        await using var proxy = await TestProxy.StartAsync();
        var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, path), Sdp(body));
        Assert.Equal(expected, response.StatusCode);
        await ProblemOf(response);
    }

    [Fact]
    public async Task Offer_Over64KiB_Is413()
    {
        await using var proxy = await TestProxy.StartAsync();
        var body = Offer + string.Concat(Enumerable.Repeat("a=x-padding:" + new string('x', 1000) + "\r\n", 70));
        var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=s"), Sdp(body));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task JsonApi_BadBodies_Are400()
    {
        await using var proxy = await TestProxy.StartAsync();
        foreach (var body in new[] { "{", "[]", "{\"sdp\":\"v=0\"}", $"{{\"sdp\":{JsonSerializer.Serialize(Offer)}}}", $"{{\"sdp\":{JsonSerializer.Serialize(Offer)},\"streamurl\":\"nope\"}}" })
        {
            var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/play/"), new StringContent(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
    }

    [Fact]
    public async Task JsonApi_PropertyNamedTwice_Is400()
    {
        // Found by scripts/fuzz rtc-json: JsonObject threw ArgumentException on the second "sdp" when first
        // read, and the player got a 500.
        await using var proxy = await TestProxy.StartAsync();
        var offer = JsonSerializer.Serialize(Offer);
        var body = $"{{\"streamurl\":\"webrtc://localhost/live/s\",\"sdp\":{offer},\"sdp\":{offer}}}";
        var response = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/play/"), new StringContent(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task SessionUrls_UnknownOrMalformed_Are404_PatchNeedsSdpFrag()
    {
        await using var proxy = await TestProxy.StartAsync();
        var unknown = new Uri(proxy.HttpApi, "rtc/v1/sessions/0123456789abcdef0123456789abcdef");
        Assert.Equal(HttpStatusCode.NotFound, (await proxy.Http.DeleteAsync(unknown)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await proxy.Http.DeleteAsync(new Uri(proxy.HttpApi, "rtc/v1/sessions/../../etc"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await proxy.Http.DeleteAsync(new Uri(proxy.HttpApi, "rtc/v1/sessions/XYZ"))).StatusCode);
        var patch = new HttpRequestMessage(HttpMethod.Patch, unknown) { Content = Sdp("a=ice-ufrag:x\r\n") };
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await proxy.Http.SendAsync(patch)).StatusCode);

        // DELETE on the offer path is not an offer (the reference parsed it as one).
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await proxy.Http.DeleteAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=s"))).StatusCode);
    }
}
