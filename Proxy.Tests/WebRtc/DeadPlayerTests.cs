using System.Diagnostics;
using System.Text.Json;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.WebRtc;

/// <summary>
/// Viewers who vanish without a DELETE (a closed laptop, a lost network), played by real werift players
/// killed mid-stream, against the SRS-like werift origin that keeps streaming to them.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class DeadPlayerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task WavesOfKilledPlayers_SessionsFallToLiveCount_WithinIdleTimeoutPlus2s_OriginSessionsDeleted()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { RtcIdleTimeout = IdleTimeout });
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);
        var whep = new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream");

        await using var live = await WeriftPlayers.StartAsync(whep, 2);
        Assert.All(live.Players, p => Assert.True(p.GetProperty("rtp").GetInt32() > 0, $"live player playing: {p}\n{live.Stderr}"));

        var deadLocations = new List<string>();
        var fallTimes = new List<double>();
        for (var wave = 0; wave < 3; wave++)
        {
            await using var doomed = await WeriftPlayers.StartAsync(whep, 3);
            Assert.All(doomed.Players, p => Assert.True(p.GetProperty("rtp").GetInt32() > 0, $"wave {wave} player playing: {p}\n{doomed.Stderr}"));
            deadLocations.AddRange(doomed.Players.Select(p => p.GetProperty("location").GetString()!));
            Assert.Equal(5, proxy.Relay.SessionCount);

            await doomed.KillAsync();
            var killed = Stopwatch.StartNew();
            await Wait.UntilAsync(() => proxy.Relay.SessionCount == 2, $"wave {wave}: sessions back to the 2 live players", 15_000);
            fallTimes.Add(killed.Elapsed.TotalSeconds);
        }

        output.WriteLine($"idle timeout {IdleTimeout.TotalSeconds} s; open sessions back to the live count after: {string.Join(", ", fallTimes.Select(t => $"{t:F2} s"))}");
        Assert.All(fallTimes, t => Assert.True(t <= IdleTimeout.TotalSeconds + 2, $"sessions fell back after {t:F2} s, more than the idle timeout + 2 s"));

        // The origin's sessions of the dead players were ended by the proxy's DELETE, not by the origin's own
        // timeout (30 s here); the live players' sessions are still open and still playing.
        await Wait.UntilAsync(async () => (await OriginSessionsAsync(origin)).Count(s => s.GetProperty("deleted").GetBoolean()) == 9,
            "the 9 dead players' origin sessions deleted", 10_000);
        var sessions = await OriginSessionsAsync(origin);
        Assert.Equal(2, sessions.Count(s => !s.GetProperty("closed").GetBoolean()));
        Assert.All(sessions.Where(s => s.GetProperty("closed").GetBoolean()), s => Assert.Equal("DELETE", s.GetProperty("closeReason").GetString()));
        Assert.All(live.Players, p => Assert.True(p.GetProperty("lastRtpAgoMs").GetInt32() < 1000, $"live player still playing: {p}"));
        Assert.Contains("srs_proxy_rtc_origin_sessions_ended_total{outcome=\"ended\"} 9", await proxy.MetricsAsync());

        // The proxy's own session URLs of the dead players are gone too.
        foreach (var location in deadLocations)
        {
            var response = await proxy.Http.DeleteAsync(new Uri(proxy.HttpApi, new Uri(location).PathAndQuery.TrimStart('/')));
            Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        }
    }

    private static async Task<List<JsonElement>> OriginSessionsAsync(OriginPeer origin) =>
        (await origin.SessionsAsync()).EnumerateArray().Where(s => s.GetProperty("api").GetString() == "whep").ToList();
}
