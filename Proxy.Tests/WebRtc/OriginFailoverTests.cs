using System.Diagnostics;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.WebRtc;

/// <summary>
/// Origins that fail between heartbeats: one killed (its API refuses connections), one frozen (SIGSTOP: the
/// kernel accepts, nobody answers). Both are SRS-like werift origins; their TTL (30 s) has not run out when
/// the next player arrives.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class OriginFailoverTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StickyOriginFails_NextOfferPlaysFromAnother_OriginQuarantined(bool hang)
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { OriginTimeout = TimeSpan.FromSeconds(2) });
        await using var a = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await using var b = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(2);
        var whep = new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream");

        // The first player makes the stream stick to one of them.
        await using (var first = await WeriftPlayers.StartAsync(whep, 1))
        {
            Assert.True(first.Players[0].GetProperty("rtp").GetInt32() > 0, first.Stderr);
        }

        var stuck = (await a.SessionsAsync()).GetArrayLength() == 1 ? a : b;
        var other = stuck == a ? b : a;
        if (hang)
        {
            await stuck.SignalAsync(freeze: true);
        }
        else
        {
            await stuck.KillAsync();
        }

        // The next player plays, from the other origin, in one offer: the proxy retried it there.
        var clock = Stopwatch.StartNew();
        await using var next = await WeriftPlayers.StartAsync(whep, 1);
        output.WriteLine($"{(hang ? "frozen" : "killed")} origin: the next player got media after {clock.Elapsed.TotalSeconds:F2} s");
        Assert.True(next.Players[0].GetProperty("rtp").GetInt32() > 0, next.Stderr);
        Assert.Single((await other.SessionsAsync()).EnumerateArray(), s => s.GetProperty("api").GetString() == "whep");

        // The failed origin is in quarantine though still alive by its TTL, and the stream sticks to the other.
        var origins = (await proxy.GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray().ToList();
        var failed = origins.Single(o => o.GetProperty("id").GetString() == stuck.Id);
        Assert.True(failed.GetProperty("alive").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.String, failed.GetProperty("unreachable_until").ValueKind);
        var streams = (await proxy.GetJsonAsync("api/v1/streams")).GetProperty("streams").EnumerateArray();
        Assert.Contains(streams, s => s.GetProperty("origin_id").GetString() == other.Id);

        // A third player goes straight to the other origin: no second wait for the failed one.
        clock.Restart();
        await using var third = await WeriftPlayers.StartAsync(whep, 1);
        Assert.True(third.Players[0].GetProperty("rtp").GetInt32() > 0, third.Stderr);
        Assert.Equal(2, (await other.SessionsAsync()).EnumerateArray().Count(s => s.GetProperty("api").GetString() == "whep"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(8), $"third player took {clock.Elapsed}");
    }
}
