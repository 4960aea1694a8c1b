using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace SrsProxy.Grpc;

/// <summary>
/// One watcher's queue of events, bounded: an event that finds it full is counted instead of queued, and the
/// watcher reads an <see cref="EventsDroppedEvent"/> with the count before the next event it does get.
/// </summary>
internal sealed class EventSubscription : IDisposable
{
    private readonly EventHub _hub;
    private readonly Channel<ProxyEvent> _queue;
    private long _dropped;

    public EventSubscription(EventHub hub, int capacity)
    {
        _hub = hub;

        // FullMode Wait makes TryWrite refuse when full (the Drop modes would accept and discard silently), so
        // the drop is counted here; no writer ever waits.
        _queue = Channel.CreateBounded<ProxyEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Events not queued because the watcher was behind and not yet reported to it.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues an event without waiting; counts it as dropped when the queue is full.</summary>
    public void Offer(ProxyEvent e)
    {
        if (!_queue.Writer.TryWrite(e))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>The events as they come, each loss reported before the event that follows it, until cancelled or disposed.</summary>
    public async IAsyncEnumerable<ProxyEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (reader.TryRead(out var e))
            {
                var dropped = Interlocked.Exchange(ref _dropped, 0);
                if (dropped > 0)
                {
                    yield return new EventsDroppedEvent(_hub.Time.GetUtcNow(), dropped);
                }

                yield return e;
            }
        }
    }

    public void Dispose()
    {
        _hub.Unsubscribe(this);
        _queue.Writer.TryComplete();
    }
}
