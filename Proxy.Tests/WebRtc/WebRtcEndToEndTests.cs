using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.WebRtc;

/// <summary>
/// WebRTC through the proxy with real stacks no one here wrote: origins on werift that behave like SRS
/// (ICE-lite, one UDP port, registration heartbeats), and headless Chromium as the player and publisher.
/// </summary>
[Collection(RealPeersCollection.Name)]
public class WebRtcEndToEndTests
{
    private static Uri Whep(TestProxy proxy, string stream) => new(proxy.HttpApi, $"rtc/v1/whep/?app=live&stream={stream}");

    /// <summary>The relay's own count of each open session's datagrams, for a failing test's message.</summary>
    private static string RelayCounters(TestProxy proxy) => "--- relay sessions ---\n" + string.Join('\n', proxy.Relay.Sessions.Select(
        s => $"{s.Id} {s.Record.Kind} {s.Record.StreamKey} origin {s.Record.OriginId}: {Volatile.Read(ref s.PacketsToOrigin)} to origin, {Volatile.Read(ref s.PacketsToClient)} to player"));

    [Fact]
    public async Task Whep_ChromiumThroughProxy_DecodesVideo_OriginSeesOnlyTheProxy()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);

        var player = await ChromiumPlayer.RunAsync(Whep(proxy, "livestream"), "whep", 20, "--hold-ms", "500");

        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());
        Assert.Equal(201, player.Json.GetProperty("status").GetInt32());
        Assert.StartsWith("/rtc/v1/sessions/", player.Location);

        // Every candidate the player got points at the proxy's UDP port, and that is where media came from.
        var proxyUdp = $"127.0.0.1:{proxy.RelayEndPoint.Port}";
        var candidates = player.Json.GetProperty("remoteCandidates").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.NotEmpty(candidates);
        // UDP candidates carry the relay's port, the passive TCP candidate (ICE-TCP) its listener's.
        var tcpPort = proxy.Services.GetRequiredService<SrsProxy.WebRtc.Relay.RtcTcpServer>().Listener!.LocalEndPoint.Port;
        Assert.All(candidates, c => Assert.Contains(c.Contains(" tcp ", StringComparison.Ordinal)
            ? $" 127.0.0.1 {tcpPort} typ host tcptype passive" : $" 127.0.0.1 {proxy.RelayEndPoint.Port} typ host", c));
        Assert.Equal(proxyUdp, player.Json.GetProperty("selectedPair").GetProperty("remote").GetString());

        // The origin never saw the player's own addresses or candidates: only the proxy's session socket.
        var sessions = await origin.SessionsAsync();
        var session = Assert.Single(sessions.EnumerateArray());
        Assert.False(session.GetProperty("offerHadCandidates").GetBoolean());
        var offerCandidatePorts = player.Json.GetProperty("offerCandidates").EnumerateArray()
            .Select(c => c.GetString()!.Split(' ')[5]).ToHashSet();
        var seen = session.GetProperty("remoteAddresses").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.NotEmpty(seen);
        Assert.All(seen, address =>
        {
            var endPoint = IPEndPoint.Parse(address);
            Assert.Equal(IPAddress.Loopback, endPoint.Address);
            Assert.DoesNotContain(endPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), offerCandidatePorts);
        });
        Assert.Single(seen.Distinct());

        // Trickle ICE through the proxy's session URL reaches the origin's session (it answers 204).
        var patch = new HttpRequestMessage(HttpMethod.Patch, new Uri(proxy.HttpApi, player.Location!.TrimStart('/')))
        {
            Content = new StringContent("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n"),
        };
        patch.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/trickle-ice-sdpfrag");
        Assert.Equal(HttpStatusCode.NoContent, (await proxy.Http.SendAsync(patch)).StatusCode);
    }

    [Fact]
    public async Task JsonPlayApi_ChromiumThroughProxy_DecodesVideo()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);

        var player = await ChromiumPlayer.RunAsync(new Uri(proxy.HttpApi, "rtc/v1/play/"), "play-json", 20,
            "--streamurl", "webrtc://localhost/live/livestream");

        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());
    }

    [Fact]
    public async Task Whip_PublishThroughProxy_PlayedBackThroughProxy()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl);
        await proxy.WaitForOriginsAsync(1);

        var publisher = ChromiumPlayer.RunAsync(new Uri(proxy.HttpApi, "rtc/v1/whip/?app=live&stream=pub"), "whip", 20, "--hold-ms", "25000");

        // The player starts once the publisher's session is up (it relays through the proxy too).
        await Wait.UntilAsync(() => proxy.Relay.Sessions.Any(s => s.Record.Kind == "whip" && s.PacketsToOrigin > 50), "the publisher relaying to the origin", 20_000);

        var player = await ChromiumPlayer.RunAsync(Whep(proxy, "pub"), "whep", 20, "--delete");
        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());

        var whip = proxy.Relay.Sessions.Single(s => s.Record.Kind == "whip");
        Assert.True(whip.PacketsToOrigin > 0);
        Assert.Equal(whip.Record.OriginId, (await proxy.GetJsonAsync("api/v1/streams")).GetProperty("streams")
            .EnumerateArray().Single(s => s.GetProperty("stream").GetString() == "__defaultVhost__/live/pub").GetProperty("origin_id").GetString());
        await publisher.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
    }

    [Fact]
    public async Task Delete_ThroughProxy_EndsRelayAndOriginSession()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);

        var player = await ChromiumPlayer.RunAsync(Whep(proxy, "livestream"), "whep", 20, "--delete");

        Assert.True(player.Ok, player.ToString());
        Assert.Equal(200, player.Json.GetProperty("deleteStatus").GetInt32());
        Assert.Equal(0, proxy.Relay.SessionCount);
        Assert.Empty((await proxy.GetJsonAsync("api/v1/sessions")).GetProperty("sessions").EnumerateArray());
        Assert.Null(await proxy.Registry.GetRtcSessionAsync(player.Location!.Split('/')[^1], default));
        Assert.All((await proxy.GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray(), o => Assert.Equal(0, o.GetProperty("active_sessions").GetInt32()));
        var session = Assert.Single((await origin.SessionsAsync()).EnumerateArray());
        Assert.True(session.GetProperty("deleted").GetBoolean());

        // The session URL is gone for good.
        var again = await proxy.Http.DeleteAsync(new Uri(proxy.HttpApi, player.Location!.TrimStart('/')));
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Contains("srs_proxy_rtc_sessions_closed_total 1", await proxy.MetricsAsync());
    }

    [Fact]
    public async Task TwoOrigins_ConcurrentStreams_SpreadOverBoth()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var first = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/a", "live/b");
        await using var second = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/a", "live/b");
        await proxy.WaitForOriginsAsync(2);

        // The first player holds its session while the second stream is picked: fewest sessions wins.
        var holding = ChromiumPlayer.RunAsync(Whep(proxy, "a"), "whep", 20, "--hold-ms", "8000");
        await Wait.UntilAsync(() => proxy.Relay.SessionCount > 0, "the first player's session open", 20_000);

        var other = await ChromiumPlayer.RunAsync(Whep(proxy, "b"), "whep", 20);
        var held = await holding;

        if (!held.Ok || !other.Ok)
        {
            Assert.Fail($"a: {held}\nb: {other}\n{await first.DescribeAsync()}\n{await second.DescribeAsync()}\n{RelayCounters(proxy)}");
        }

        var streams = (await proxy.GetJsonAsync("api/v1/streams")).GetProperty("streams").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stream").GetString()!, s => s.GetProperty("origin_id").GetString()!);
        Assert.Equal(2, streams.Count);
        Assert.NotEqual(streams["__defaultVhost__/live/a"], streams["__defaultVhost__/live/b"]);
        Assert.Equal(new[] { first.Id, second.Id }.Order(), streams.Values.Order());
    }

    [Fact]
    public async Task OriginStopsHeartbeating_GetsNoNewStreams()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { OriginTtl = TimeSpan.FromSeconds(3) });
        await using var silent = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await using var beating = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(2);

        await silent.SetHeartbeatAsync(false);
        await Wait.UntilAsync(
            async () => !(await proxy.GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray()
                .Single(o => o.GetProperty("id").GetString() == silent.Id).GetProperty("alive").GetBoolean(),
            "the silent origin listed as dead",
            20_000);
        var player = await ChromiumPlayer.RunAsync(Whep(proxy, "livestream"), "whep", 20);
        Assert.True(player.Ok, player.ToString());
        Assert.Empty((await silent.SessionsAsync()).EnumerateArray());
        Assert.Single((await beating.SessionsAsync()).EnumerateArray());
    }
}
