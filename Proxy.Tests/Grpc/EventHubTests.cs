using Microsoft.Extensions.Time.Testing;
using SrsProxy.Grpc;

namespace SrsProxy.Tests.Grpc;

/// <summary>The event hub's promise to watchers: every event while they keep up, a count of what they lost when they do not, bounded memory always.</summary>
public sealed class EventHubTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task SlowWatcher_LosesEventsPastCapacity_IsToldHowMany_FastWatcherGetsAll()
    {
        var hub = new EventHub(_time);
        using var slow = hub.TrySubscribe(capacity: 4)!;
        using var fast = hub.TrySubscribe(capacity: 100)!;
        for (var i = 0; i < 10; i++)
        {
            hub.Publish(new OriginStatusEvent(_time.GetUtcNow(), $"o{i}", true));
        }

        Assert.Equal(6, slow.Dropped);
        var slowSaw = await ReadAsync(slow, 5);
        Assert.Equal(6, Assert.IsType<EventsDroppedEvent>(slowSaw[0]).Count);
        Assert.Equal(["o0", "o1", "o2", "o3"], slowSaw.Skip(1).Cast<OriginStatusEvent>().Select(e => e.OriginId));

        // Caught up, it gets the next one with no loss reported.
        hub.Publish(new OriginStatusEvent(_time.GetUtcNow(), "later", false));
        Assert.Equal("later", Assert.IsType<OriginStatusEvent>(Assert.Single(await ReadAsync(slow, 1))).OriginId);
        Assert.Equal(11, (await ReadAsync(fast, 11)).OfType<OriginStatusEvent>().Count());
    }

    [Fact]
    public void Watchers_CappedAt64_DisposeFreesSlot_NoWatcherNoWork()
    {
        var hub = new EventHub(_time);
        Assert.False(hub.HasWatchers);
        var watchers = Enumerable.Range(0, EventHub.MaxWatchers).Select(_ => hub.TrySubscribe()!).ToList();
        Assert.True(hub.HasWatchers);
        Assert.Null(hub.TrySubscribe());
        watchers[0].Dispose();
        using var another = hub.TrySubscribe();
        Assert.NotNull(another);
        foreach (var watcher in watchers.Skip(1))
        {
            watcher.Dispose();
        }

        another!.Dispose();
        Assert.False(hub.HasWatchers);
    }

    private static async Task<List<ProxyEvent>> ReadAsync(EventSubscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var events = new List<ProxyEvent>();
        await foreach (var e in subscription.ReadAllAsync(timeout.Token))
        {
            events.Add(e);
            if (events.Count == count)
            {
                break;
            }
        }

        return events;
    }
}
