using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SrsProxy.Tests.Common;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc;

/// <summary>
/// ICE-TCP (issue 14) with real stacks: headless Chromium that is left only the answer's TCP candidate (as behind a
/// firewall that blocks UDP), through the proxy, to a werift origin that speaks UDP only.
/// </summary>
[Collection(RealPeersCollection.Name)]
public class IceTcpEndToEndTests
{
    private static Uri Whep(TestProxy proxy, string stream) => new(proxy.HttpApi, $"rtc/v1/whep/?app=live&stream={stream}");

    [Fact]
    public async Task Whep_ChromiumOverTcpOnly_DecodesVideo_FromUdpOnlyOrigin()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);
        var tcp = proxy.Services.GetRequiredService<RtcTcpServer>().Listener!;

        var player = await ChromiumPlayer.RunAsync(Whep(proxy, "livestream"), "whep", 20, "--only-tcp", "--hold-ms", "2000");

        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());

        // The answer offered the proxy's passive TCP candidate on the port its listener bound (the test asks for any
        // free port; with a fixed PROXY_WEBRTC_SERVER it is the same number as UDP), and it was all the player kept.
        var applied = player.Json.GetProperty("appliedCandidates").EnumerateArray().Select(c => c.GetString()!).ToList();
        var tcpCandidate = Assert.Single(applied);
        Assert.Contains($" tcp ", tcpCandidate);
        Assert.EndsWith($" 127.0.0.1 {tcp.LocalEndPoint.Port} typ host tcptype passive", tcpCandidate);

        // ICE chose TCP, to the proxy.
        var pair = player.Json.GetProperty("selectedPair");
        Assert.Equal("tcp", pair.GetProperty("protocol").GetString());
        Assert.Equal($"127.0.0.1:{tcp.LocalEndPoint.Port}", pair.GetProperty("remote").GetString());

        // The media came over the TCP connection, and the origin saw one UDP address: the proxy's session socket.
        // (A closing connection's figures move to the totals a moment after it leaves the list.)
        await Wait.UntilAsync(() => tcp.Counters.ClosedFramesOut + tcp.Connections.Sum(c => c.FramesOut) > 50, "media frames sent over TCP");
        var session = Assert.Single((await origin.SessionsAsync()).EnumerateArray());
        var seen = session.GetProperty("remoteAddresses").EnumerateArray().Select(a => IPEndPoint.Parse(a.GetString()!)).ToList();
        Assert.NotEmpty(seen);
        Assert.Single(seen.Distinct());
        Assert.Equal(IPAddress.Loopback, seen[0].Address);
    }

    [Fact]
    public async Task Whip_ChromiumPublishesOverTcpOnly_PlayedBackOverUdp()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl);
        await proxy.WaitForOriginsAsync(1);
        var tcp = proxy.Services.GetRequiredService<RtcTcpServer>().Listener!;

        var publisher = ChromiumPlayer.RunAsync(new Uri(proxy.HttpApi, "rtc/v1/whip/?app=live&stream=pub"), "whip", 20, "--only-tcp", "--hold-ms", "25000");
        await Wait.UntilAsync(() => proxy.Relay.Sessions.Any(s => s.Record.Kind == "whip" && s.PacketsToOrigin > 50), "the publisher relaying to the origin", 20_000);
        Assert.True(tcp.Connections.Sum(c => c.FramesIn) > 50, "the publisher's media came over TCP");

        var player = await ChromiumPlayer.RunAsync(Whep(proxy, "pub"), "whep", 20, "--delete");
        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());
        Assert.Equal("udp", player.Json.GetProperty("selectedPair").GetProperty("protocol").GetString());
        await publisher.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
    }
}
