using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SrsProxy.Registry;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

public class SharedSessionLookupTests
{
    private readonly FakeTimeProvider _time = new();
    private int _asked;

    /// <summary>
    /// A lookup whose registry answers at once (a completed <see cref="ValueTask{TResult}"/>): the lookup is
    /// over, a miss remembered, when <see cref="SharedSessionLookup.Request"/> returns.
    /// </summary>
    private SharedSessionLookup Create(RtcSessionRecord? answer = null) => new(
        (_, _) =>
        {
            Interlocked.Increment(ref _asked);
            return ValueTask.FromResult(answer);
        },
        (_, _) =>
        {
            Interlocked.Increment(ref _asked);
            return ValueTask.FromResult(answer);
        },
        _time,
        (_, _) => true,
        (_, _, _, _) => true,
        NullLogger.Instance,
        CancellationToken.None);

    /// <summary>
    /// Regression: a STUN request naming an unknown username allocated a string and took a relay-wide lock
    /// before the miss cache was consulted, on a path strangers drive. A cached miss now allocates nothing.
    /// </summary>
    [Fact]
    public void Request_CachedMiss_AllocatesNothing_AsksNoOneAgain()
    {
        var lookup = Create();
        Assert.True(lookup.Request("stranger:name"));
        Assert.Equal(1, _asked);

        ReadOnlySpan<char> username = "stranger:name";
        Assert.False(lookup.Request(username));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            lookup.Request(username);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1, _asked);

        // What held those requests back was the remembered miss, not a lookup still running: once the miss
        // expires, the next request asks again at once.
        _time.Advance(SharedSessionLookup.MissCacheTime + TimeSpan.FromMilliseconds(1));
        Assert.True(lookup.Request(username));
        Assert.Equal(2, _asked);
    }

    [Fact]
    public void Request_AfterMissCacheTime_AsksAgain()
    {
        var lookup = Create();
        Assert.True(lookup.Request("a:b"));
        Assert.False(lookup.Request("a:b"));
        _time.Advance(SharedSessionLookup.MissCacheTime + TimeSpan.FromMilliseconds(1));
        Assert.True(lookup.Request("a:b"));
        Assert.Equal(2, _asked);
    }

    [Fact]
    public void Request_ManyAtOnce_BoundedByMaxPending()
    {
        var never = new TaskCompletionSource<RtcSessionRecord?>();
        var lookup = new SharedSessionLookup((_, _) => new ValueTask<RtcSessionRecord?>(never.Task), (_, _) => new ValueTask<RtcSessionRecord?>(never.Task),
            _time, (_, _) => true, (_, _, _, _) => true, NullLogger.Instance, CancellationToken.None);
        var started = Enumerable.Range(0, SharedSessionLookup.MaxPending * 3).Count(i => lookup.Request($"user{i}:x"));
        Assert.Equal(SharedSessionLookup.MaxPending, started);
        Assert.False(lookup.Request("user0:x"));
        never.SetResult(null);
    }

    /// <summary>
    /// A stranger spraying datagrams from one address must cost nothing once its address is a known miss: the
    /// address path checks a value key, no text is made.
    /// </summary>
    [Fact]
    public void RequestByAddress_CachedMiss_AllocatesNothing_AsksNoOneAgain()
    {
        var lookup = Create();
        var from = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 40000).Serialize();
        var key = SrsProxy.Udp.AddressKey.From(from);
        byte[] datagram = [0x80, 0x60, 0, 1];
        Assert.True(lookup.RequestByAddress(key, from, datagram));
        Assert.Equal(1, _asked);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            lookup.RequestByAddress(key, from, datagram);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1, _asked);
        _time.Advance(SharedSessionLookup.MissCacheTime + TimeSpan.FromMilliseconds(1));
        Assert.True(lookup.RequestByAddress(key, from, datagram));
        Assert.Equal(2, _asked);
    }
}
