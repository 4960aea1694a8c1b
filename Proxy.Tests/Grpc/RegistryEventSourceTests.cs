using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SrsProxy.Configuration;
using SrsProxy.Grpc;
using SrsProxy.Registry;
using SrsProxy.Streams;
using SrsProxy.Tests.Registry;

namespace SrsProxy.Tests.Grpc;

/// <summary>Origins coming alive or dying and streams moving, as a watcher sees them, from the memory registry on a fake clock.</summary>
public sealed class RegistryEventSourceTests
{
    private static readonly StreamUrl Live = new(StreamUrl.DefaultVhost, "live", "livestream");
    private readonly FakeTimeProvider _time = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    [Fact]
    public async Task OriginRegisters_Dies_StreamMovesToOther_EachReportedOnce()
    {
        var registry = new MemoryRegistry(new ProxyOptions { OriginTtl = TimeSpan.FromSeconds(30) }, _time, new Random(1));
        var hub = new EventHub(_time);
        var source = new RegistryEventSource(registry, hub, _time, NullLogger<RegistryEventSource>.Instance);
        using var watcher = hub.TrySubscribe()!;
        var a = MemoryRegistryTests.Origin("a");
        var b = MemoryRegistryTests.Origin("b", api: 1986);
        await registry.RegisterOriginAsync(a, _ct);
        Assert.Equal(a.Id, (await registry.PickOriginAsync(Live, _ct)).Id);

        // The first read is the baseline: what was there before the watcher came is for the lists to say.
        await source.PollAsync(_ct);
        Assert.Empty(await ReceivedAsync(hub, watcher));

        await registry.RegisterOriginAsync(b, _ct);
        await source.PollAsync(_ct);
        Assert.Equal([(b.Id, true)], (await ReceivedAsync(hub, watcher)).Cast<OriginStatusEvent>().Select(e => (e.OriginId, e.Alive)));

        // a misses its TTL while b heartbeats: a is dead, once.
        _time.Advance(TimeSpan.FromSeconds(31));
        await registry.RegisterOriginAsync(b, _ct);
        await source.PollAsync(_ct);
        await source.PollAsync(_ct);
        Assert.Equal([(a.Id, false)], (await ReceivedAsync(hub, watcher)).Cast<OriginStatusEvent>().Select(e => (e.OriginId, e.Alive)));

        // The stream's next pick goes to b: it moved from a.
        Assert.Equal(b.Id, (await registry.PickOriginAsync(Live, _ct)).Id);
        await source.PollAsync(_ct);
        var moved = Assert.IsType<StreamMovedEvent>(Assert.Single(await ReceivedAsync(hub, watcher)));
        Assert.Equal((Live.Key, a.Id, b.Id), (moved.Stream, moved.FromOriginId, moved.ToOriginId));
    }

    /// <summary>
    /// What the watcher got since the last call: a marker is published and everything before it is read, so
    /// "nothing" and "once" are exact, with no waiting for events that should not come.
    /// </summary>
    private async Task<List<ProxyEvent>> ReceivedAsync(EventHub hub, EventSubscription watcher)
    {
        hub.Publish(new EventsDroppedEvent(_time.GetUtcNow(), -1));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var events = new List<ProxyEvent>();
        await foreach (var e in watcher.ReadAllAsync(timeout.Token))
        {
            if (e is EventsDroppedEvent { Count: -1 })
            {
                break;
            }

            events.Add(e);
        }

        return events;
    }
}
