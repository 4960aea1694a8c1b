using System.Diagnostics;
using System.Net;
using System.Text;
using SrsProxy.Registry;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.Registry.Redis;

/// <summary>
/// Two proxy instances sharing a Redis Sentinel setup (primary, replica, three sentinels), with a werift origin
/// and headless Chromium players: the primary dies during playback, and players must not notice.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class RedisSentinelEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RedisSentinelCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await RedisSentinelCluster.StartAsync();

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    // A 6 s idle timeout makes the relay refresh its sessions in Redis every 2 s.
    private Task<TestProxy> StartProxyAsync() =>
        TestProxy.StartAsync(o => _cluster.Apply(o) with { RedisPrefix = "failover:", RtcIdleTimeout = TimeSpan.FromSeconds(6) });

    private static Uri Whep(TestProxy proxy, string stream) => new(proxy.HttpApi, $"rtc/v1/whep/?app=live&stream={stream}");

    private static async Task<HttpStatusCode> OfferAsync(TestProxy proxy, string sdp)
    {
        using var response = await proxy.Http.PostAsync(Whep(proxy, "livestream"), new StringContent(sdp, Encoding.UTF8, "application/sdp"));
        return response.StatusCode;
    }

    [Fact]
    public async Task PrimaryKilledDuringPlayback_NoSessionLost_OffersWorkAgainWithinSeconds()
    {
        await using var a = await StartProxyAsync();
        await using var b = await StartProxyAsync();
        await using var origin = await OriginPeer.StartAsync(a.RegisterUrl, "live/livestream");
        await b.WaitForOriginsAsync(1);

        // A real Chromium offer, kept to probe signalling during the failover: each POST of it is a new session
        // (the origin answers with new ICE credentials), which simply idles out.
        var first = await ChromiumPlayer.RunAsync(Whep(b, "livestream"), "whep", 25, "--hold-ms", "200");
        Assert.True(first.Ok, first.ToString());
        var offer = first.Json.GetProperty("offerSdp").GetString()!;

        var player = ChromiumPlayer.RunAsync(Whep(a, "livestream"), "whep", 25, "--hold-ms", "15000");
        await Wait.UntilAsync(() => a.Relay.Sessions.Any(s => s.PacketsToClient > 20), "the player playing through A", 20_000);
        var session = a.Relay.Sessions.Single();

        var clock = Stopwatch.StartNew();
        await _cluster.KillPrimaryAsync();
        var promoted = _cluster.PromotedAtAsync(clock);
        var before = session.PacketsToClient;
        // Both instances are offered to in turn until each has accepted once: each follows the failover on its own.
        var accepted = new Dictionary<TestProxy, long>();
        var refused = 0;
        await Wait.UntilAsync(
            async () =>
            {
                foreach (var proxy in new[] { b, a }.Where(p => !accepted.ContainsKey(p)))
                {
                    var started = clock.ElapsedMilliseconds;
                    var status = await OfferAsync(proxy, offer);
                    Assert.True(clock.ElapsedMilliseconds - started < 3000, $"an offer took {clock.ElapsedMilliseconds - started} ms to get {(int)status}");
                    if (status == HttpStatusCode.Created)
                    {
                        accepted[proxy] = clock.ElapsedMilliseconds;
                    }
                    else
                    {
                        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                        refused++;
                    }
                }

                return accepted.Count == 2;
            },
            "an offer accepted through each instance after the primary died",
            30_000);
        output.WriteLine($"primary killed (SIGKILL) during playback; the sentinels promoted the replica after {await promoted} ms; " +
            $"new offers succeeded again after {accepted[a]} ms through A (playing) and {accepted[b]} ms through B; {refused} offers got 503 meanwhile");
        Assert.StartsWith("master", await _cluster.Replica.CliAsync("ROLE"), StringComparison.Ordinal);

        // The playing session never stopped, and both instances find it in the registry on the new primary (the
        // relay's refresh writes it back if asynchronous replication had not carried it before the kill).
        Assert.False(session.IsClosed);
        await Wait.UntilAsync(() => session.PacketsToClient > before + 30, "media still flowing to the player after the failover", 10_000);
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    return await a.Registry.GetRtcSessionAsync(session.Id, default) is not null &&
                        (await b.Registry.FindRtcSessionByUsernameAsync(session.Record.Username, default))?.Id == session.Id;
                }
                catch (RegistryUnavailableException)
                {
                    return false;
                }
            },
            "the playing session in the registry at both instances",
            10_000);

        var played = await player;
        Assert.True(played.Ok, played.ToString());
        Assert.False(session.IsClosed);

        // A new player after the failover plays, through the other instance.
        var after = await ChromiumPlayer.RunAsync(Whep(b, "livestream"), "whep", 25);
        Assert.True(after.Ok, after.ToString());
        Assert.True(after.FramesDecoded > 0, after.ToString());
    }

    [Fact]
    public async Task EverythingGone_OffersGet503Fast_ProxyKeepsServing()
    {
        await using var proxy = await StartProxyAsync();
        await proxy.RegisterAsync("srs-a");
        await _cluster.KillAllAsync();

        var offer = "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n";
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await proxy.Http.PostAsync(Whep(proxy, "livestream"), new StringContent(offer, Encoding.UTF8, "application/sdp"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.True(clock.ElapsedMilliseconds < 3000, $"offer {i} took {clock.ElapsedMilliseconds} ms");
        }

        // Still serving what does not need Redis.
        Assert.Contains("srs_proxy_", await proxy.MetricsAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "api/v1/origins"))).StatusCode);
    }
}
