using System.Net;
using System.Text;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Registry.Redis;

/// <summary>
/// Several proxy instances behind one real Redis, with werift origins and headless Chromium. To play
/// "the L4 balancer sent the player's media to another instance", instance A's answers name instance B's
/// UDP address (A: 127.0.0.2:P with PROXY_CANDIDATE=127.0.0.3; B: 127.0.0.3:P).
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class RedisEndToEndTests : IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private Task<TestProxy> StartProxyAsync(string udpHost = "127.0.0.1", int udpPort = 0, string? candidate = null, TimeSpan? idle = null) =>
        TestProxy.StartAsync(o => o with
        {
            LoadBalancer = LoadBalancerType.Redis,
            RedisPort = _redis.Port,
            RedisPrefix = "e2e:",
            WebRtcServer = new ListenAddress(IPAddress.Parse(udpHost), udpPort),
            Candidate = candidate is null ? null : IPAddress.Parse(candidate),
            RtcIdleTimeout = idle ?? o.RtcIdleTimeout,
        });

    private static Uri Whep(TestProxy proxy, string stream) => new(proxy.HttpApi, $"rtc/v1/whep/?app=live&stream={stream}");

    [Fact]
    public async Task SignalThroughA_MediaThroughB_ChromiumDecodesVideo()
    {
        await using var b = await StartProxyAsync("127.0.0.3");
        await using var a = await StartProxyAsync("127.0.0.2", b.RelayEndPoint.Port, candidate: "127.0.0.3");
        await using var origin = await OriginPeer.StartAsync(a.RegisterUrl, "live/livestream");
        await b.WaitForOriginsAsync(1);

        var player = await ChromiumPlayer.RunAsync(Whep(a, "livestream"), "whep", 25, "--hold-ms", "500");

        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());
        Assert.Equal($"127.0.0.3:{b.RelayEndPoint.Port}", player.Json.GetProperty("selectedPair").GetProperty("remote").GetString());
        var relayed = Assert.Single(b.Relay.Sessions);
        Assert.True(relayed.PacketsToClient > 0);
        Assert.False(Assert.Single(a.Relay.Sessions).IsBound);
    }

    [Fact]
    public async Task PublisherThroughA_PlayerThroughB_MeetOnOneOrigin()
    {
        await using var a = await StartProxyAsync();
        await using var b = await StartProxyAsync();
        await using var first = await OriginPeer.StartAsync(a.RegisterUrl);
        await using var second = await OriginPeer.StartAsync(b.RegisterUrl);
        await a.WaitForOriginsAsync(2);

        var publisher = ChromiumPlayer.RunAsync(new Uri(a.HttpApi, "rtc/v1/whip/?app=live&stream=meet"), "whip", 25, "--hold-ms", "20000");
        await Wait.UntilAsync(() => a.Relay.Sessions.Any(s => s.PacketsToOrigin > 50), "the publisher relaying through A", 20_000);

        var player = await ChromiumPlayer.RunAsync(Whep(b, "meet"), "whep", 25);
        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());

        // B relays the player, on the origin A's publisher is on; the shared registry records it there.
        var publisherOrigin = a.Relay.Sessions.Single().Record.OriginId;
        var whep = Assert.Single((await b.GetJsonAsync("api/v1/sessions")).GetProperty("sessions").EnumerateArray(), s => s.GetProperty("kind").GetString() == "whep");
        Assert.Equal(publisherOrigin, whep.GetProperty("origin_id").GetString());
        Assert.Equal(publisherOrigin, (await b.Registry.GetRtcSessionAsync(whep.GetProperty("id").GetString()!, default))?.OriginId);
        await publisher.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
    }

    [Fact]
    public async Task DeleteThroughB_EndsSessionRelayedByA()
    {
        await using var a = await StartProxyAsync();
        await using var b = await StartProxyAsync();
        await using var origin = await OriginPeer.StartAsync(a.RegisterUrl, "live/livestream");
        await a.WaitForOriginsAsync(1);

        var player = ChromiumPlayer.RunAsync(Whep(a, "livestream"), "whep", 25, "--hold-ms", "15000");
        await Wait.UntilAsync(() => a.Relay.Sessions.Any(s => s.PacketsToClient > 20), "the player playing through A", 20_000);
        var id = a.Relay.Sessions.Single().Id;

        var response = await b.Http.DeleteAsync(new Uri(b.HttpApi, $"rtc/v1/sessions/{id}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Wait.UntilAsync(() => a.Relay.SessionCount == 0, "A closes the session it relayed");
        Assert.True(Assert.Single((await origin.SessionsAsync()).EnumerateArray()).GetProperty("deleted").GetBoolean());
        await player.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
    }

    [Fact]
    public async Task RedisKilledAndRestarted_PlayingSessionKeepsFlowing_SignallingRecovers()
    {
        await using var proxy = await StartProxyAsync(idle: TimeSpan.FromSeconds(6));
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);

        var player = ChromiumPlayer.RunAsync(Whep(proxy, "livestream"), "whep", 25, "--hold-ms", "16000");
        await Wait.UntilAsync(() => proxy.Relay.Sessions.Any(s => s.PacketsToClient > 20), "the player playing", 20_000);
        var session = proxy.Relay.Sessions.Single();

        await _redis.StopAsync();
        var offer = "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n";
        var refused = await proxy.Http.PostAsync(Whep(proxy, "livestream"), new StringContent(offer, Encoding.UTF8, "application/sdp"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "api/v1/origins"))).StatusCode);

        // Redis stays down for 3 s, longer than a sweep period (1 s) and a refresh period (2 s) at this idle
        // timeout: the time is the scenario, not a synchronisation, so it is slept, not waited for.
        var before = session.PacketsToClient;
        await Task.Delay(3000);
        Assert.True(session.PacketsToClient > before + 10, "media must keep flowing while Redis is down");
        Assert.False(session.IsClosed);

        await _redis.RestartAsync();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return await proxy.Registry.GetRtcSessionAsync(session.Id, default) is not null;
            }
            catch (SrsProxy.Registry.RegistryUnavailableException)
            {
                return false;
            }
        }, "the session written back to the restarted Redis", 20_000);

        var result = await player;
        Assert.True(result.Ok, result.ToString());
        Assert.False(session.IsClosed);

        // Signalling works again without a restart: the origin re-registered, and a new player plays.
        await proxy.WaitForOriginsAsync(1);
        var again = await ChromiumPlayer.RunAsync(Whep(proxy, "livestream"), "whep", 25);
        Assert.True(again.Ok, again.ToString());
    }
}
