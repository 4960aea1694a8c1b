using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SrsProxy.Registry;
using SrsProxy.Tests.Common;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

public class SharedSessionLookupTests
{
    private readonly FakeTimeProvider _time = new();
    private int _asked;

    private SharedSessionLookup Create(RtcSessionRecord? answer = null) => new(
        (_, _) =>
        {
            Interlocked.Increment(ref _asked);
            return ValueTask.FromResult(answer);
        },
        _time,
        (_, _) => true,
        NullLogger.Instance,
        CancellationToken.None);

    /// <summary>
    /// Regression: a STUN request naming an unknown username allocated a string and took a relay-wide lock
    /// before the miss cache was consulted, on a path strangers drive. A cached miss now allocates nothing.
    /// </summary>
    [Fact]
    public async Task Request_CachedMiss_AllocatesNothing_AsksNoOneAgain()
    {
        var lookup = Create();
        Assert.True(lookup.Request("stranger:name"));
        await Wait.UntilAsync(() => lookup.Pending == 0, "the first lookup done");
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
    }

    [Fact]
    public async Task Request_AfterMissCacheTime_AsksAgain()
    {
        var lookup = Create();
        lookup.Request("a:b");
        await Wait.UntilAsync(() => lookup.Pending == 0, "the first lookup done");
        _time.Advance(SharedSessionLookup.MissCacheTime + TimeSpan.FromMilliseconds(1));
        Assert.True(lookup.Request("a:b"));
        await Wait.UntilAsync(() => Volatile.Read(ref _asked) == 2, "asked again");
    }

    [Fact]
    public void Request_ManyAtOnce_BoundedByMaxPending()
    {
        var never = new TaskCompletionSource<RtcSessionRecord?>();
        var lookup = new SharedSessionLookup((_, _) => new ValueTask<RtcSessionRecord?>(never.Task), _time, (_, _) => true, NullLogger.Instance, CancellationToken.None);
        var started = Enumerable.Range(0, SharedSessionLookup.MaxPending * 3).Count(i => lookup.Request($"user{i}:x"));
        Assert.Equal(SharedSessionLookup.MaxPending, started);
        Assert.False(lookup.Request("user0:x"));
        never.SetResult(null);
    }
}
