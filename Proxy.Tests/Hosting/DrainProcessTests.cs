using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.Hosting;

/// <summary>
/// The graceful drain (issue 12) of the real proxy process, stopped as an operator stops it (SIGTERM, or
/// <c>POST /api/v1/drain</c>), with a werift origin and a headless Chromium player playing through it.
/// </summary>
[Collection(RealPeersCollection.Name)]
public class DrainProcessTests(ITestOutputHelper output)
{
    /// <summary>An offer any origin would take; while draining, the proxy must refuse it before it reaches one.</summary>
    private const string Offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:drain\r\na=ice-pwd:0123456789abcdef012345\r\na=mid:0\r\na=recvonly\r\n";

    private static Uri Whep(ProxyProcess proxy) => new(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream");

    [Fact]
    public async Task Sigterm_PlayerPlaying_MediaFlowsUntilGraceDeadline_NewOffersRefused_ExitsZeroAtDeadline()
    {
        await using var proxy = await ProxyProcess.StartAsync(("PROXY_GRACE_QUIT_TIMEOUT", "6s"));
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await WaitForOriginAsync(http, proxy);
        using var player = ChromiumPlayer.Start(Whep(proxy), "whep", 20, "--hold-ms", "60000");
        await WaitForMediaAsync(http, proxy);

        await proxy.TerminateAsync();
        var stopping = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => (await http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).StatusCode == HttpStatusCode.ServiceUnavailable,
            "/readyz answers 503 once SIGTERM is in");
        var sentEarly = await PacketsToPlayerAsync(http, proxy);

        // Unready but alive; new offers refused with Retry-After, so a client retries at another instance.
        var ready = await http.GetAsync(new Uri(proxy.SystemApi, "readyz"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray().ToList();
        Assert.False(checks.Single(c => c.GetProperty("name").GetString() == "draining").GetProperty("ok").GetBoolean());
        Assert.True(checks.Single(c => c.GetProperty("name").GetString() == "registry").GetProperty("ok").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(proxy.SystemApi, "healthz"))).StatusCode);
        var refused = await http.PostAsync(Whep(proxy), new StringContent(Offer, Encoding.UTF8, "application/sdp"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        // The player's media keeps flowing through the drain, up to shortly before the 6 s deadline.
        await Task.Delay(TimeSpan.FromSeconds(4.5) - stopping.Elapsed);
        Assert.False(proxy.HasExited, proxy.Output);
        var sentLate = await PacketsToPlayerAsync(http, proxy);
        Assert.True(sentLate > sentEarly + 50, $"datagrams to the player during the drain: {sentEarly} at {stopping.Elapsed}, then {sentLate}");

        // At the deadline the session is closed and the process exits, cleanly.
        Assert.True(await proxy.WaitForExitAsync(TimeSpan.FromSeconds(20)), proxy.Output);
        var exitedAfter = stopping.Elapsed;
        output.WriteLine($"SIGTERM with a player: exited {exitedAfter.TotalSeconds:0.00} s after the signal (grace 6 s); datagrams to the player during the drain {sentEarly} -> {sentLate}");
        Assert.Equal(0, proxy.ExitCode);
        Assert.InRange(exitedAfter, TimeSpan.FromSeconds(5.5), TimeSpan.FromSeconds(11));
        Assert.Contains("Drain ended at the grace deadline", proxy.Output);
    }

    [Fact]
    public async Task Sigterm_NothingPlaying_ExitsAtOnceNotAtDeadline()
    {
        await using var proxy = await ProxyProcess.StartAsync(("PROXY_GRACE_QUIT_TIMEOUT", "20s"));
        var stopping = Stopwatch.StartNew();
        await proxy.TerminateAsync();
        Assert.True(await proxy.WaitForExitAsync(TimeSpan.FromSeconds(20)), proxy.Output);
        output.WriteLine($"SIGTERM with nothing playing: exited {stopping.Elapsed.TotalSeconds:0.00} s after the signal (grace 20 s)");
        Assert.Equal(0, proxy.ExitCode);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(4), $"exited after {stopping.Elapsed} with nothing to drain");
        Assert.Contains("Drain ended: nothing left playing", proxy.Output);
    }

    [Fact]
    public async Task PostDrain_PlayerKeepsPlayingUntilItDeletes_ThenProcessExitsZero()
    {
        await using var proxy = await ProxyProcess.StartAsync(("PROXY_GRACE_QUIT_TIMEOUT", "20s"));
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await WaitForOriginAsync(http, proxy);
        using var player = ChromiumPlayer.Start(Whep(proxy), "whep", 20, "--hold-ms", "60000", "--delete");
        await WaitForMediaAsync(http, proxy);

        var drain = await http.PostAsync(new Uri(proxy.SystemApi, "api/v1/drain"), null);
        Assert.Equal(HttpStatusCode.Accepted, drain.StatusCode);
        var body = JsonDocument.Parse(await drain.Content.ReadAsStringAsync()).RootElement;
        Assert.True(body.GetProperty("draining").GetBoolean());
        Assert.Equal(1, body.GetProperty("active").GetProperty("webrtc").GetInt32());
        Assert.Equal(TimeSpan.FromSeconds(20), body.GetProperty("deadline").GetDateTimeOffset() - body.GetProperty("since").GetDateTimeOffset());
        var sentEarly = await PacketsToPlayerAsync(http, proxy);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).StatusCode);
        var json = JsonSerializer.Serialize(new Dictionary<string, string> { ["streamurl"] = "webrtc://127.0.0.1/live/livestream", ["sdp"] = Offer });
        var refused = await http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/play/"), new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);

        // Still draining while the player plays: the process waits for it, and its media flows.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(proxy.HasExited, proxy.Output);
        Assert.True(await PacketsToPlayerAsync(http, proxy) > sentEarly + 20, "datagrams to the player during the drain");
        var state = JsonDocument.Parse(await http.GetStringAsync(new Uri(proxy.SystemApi, "api/v1/drain"))).RootElement;
        Assert.True(state.GetProperty("draining").GetBoolean());
        Assert.True(state.GetProperty("refused").GetProperty("webrtc").GetInt64() >= 1);

        // The player ends its session (DELETE through the draining proxy): nothing is left, the process exits.
        var ending = Stopwatch.StartNew();
        await player.EndHoldAsync();
        var result = await player.Result;
        Assert.True(result.Ok, result.ToString());
        Assert.Equal(200, result.Json.GetProperty("deleteStatus").GetInt32());
        var reported = ending.Elapsed;
        Assert.True(await proxy.WaitForExitAsync(TimeSpan.FromSeconds(10)), proxy.Output);
        output.WriteLine($"POST drain, player DELETEs: player reported {reported.TotalSeconds:0.00} s after its hold ended, process exited {ending.Elapsed.TotalSeconds:0.00} s after (grace 20 s)");
        Assert.Equal(0, proxy.ExitCode);
        Assert.True(ending.Elapsed < TimeSpan.FromSeconds(10), $"exited {ending.Elapsed} after the player was told to end, far before the 20 s deadline");
        Assert.Contains("Drain ended: nothing left playing", proxy.Output);
    }

    private static Task WaitForOriginAsync(HttpClient http, ProxyProcess proxy) => Wait.UntilAsync(
        async () => JsonDocument.Parse(await http.GetStringAsync(new Uri(proxy.SystemApi, "api/v1/origins"))).RootElement
            .GetProperty("origins").EnumerateArray().Any(o => o.GetProperty("alive").GetBoolean()),
        "the werift origin registered with the proxy process",
        20_000);

    private static Task WaitForMediaAsync(HttpClient http, ProxyProcess proxy) => Wait.UntilAsync(
        async () => await PacketsToPlayerAsync(http, proxy) > 100,
        "media relayed to the Chromium player",
        40_000);

    /// <summary>Datagrams the relay sent to the player, as <c>/api/v1/sessions</c> counts them; 0 with no session.</summary>
    private static async Task<long> PacketsToPlayerAsync(HttpClient http, ProxyProcess proxy)
    {
        var sessions = JsonDocument.Parse(await http.GetStringAsync(new Uri(proxy.SystemApi, "api/v1/sessions"))).RootElement.GetProperty("sessions");
        return sessions.EnumerateArray().Sum(s => s.GetProperty("packets_to_player").GetInt64());
    }
}
