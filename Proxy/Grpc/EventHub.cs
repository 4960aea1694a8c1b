namespace SrsProxy.Grpc;

/// <summary>
/// Fans the proxy's events out to the operators watching them (<c>WatchEvents</c>). Each watcher has a bounded
/// queue of its own (<see cref="EventSubscription"/>): a slow one loses events and is told how many, and never
/// holds memory without bound nor slows the relay or another watcher. With no watcher, publishing costs a
/// volatile read. The sources publish: <see cref="RelayEventSource"/> (sessions opening and closing) and
/// <see cref="RegistryEventSource"/> (origins alive or dead, streams moving).
/// </summary>
internal sealed class EventHub(TimeProvider time)
{
    /// <summary>Watchers at once; an operator's tools need a handful, and each holds a queue of its own.</summary>
    internal const int MaxWatchers = 64;

    /// <summary>
    /// Events one watcher may have unread. A thousand covers a burst of every player of a large stream
    /// leaving at once while the watcher's connection stalls for a moment; past it the watcher is told.
    /// </summary>
    internal const int QueueCapacity = 1024;

    private readonly Lock _lock = new();
    private EventSubscription[] _watchers = [];

    public TimeProvider Time => time;

    /// <summary>True while someone watches: sources skip building events, and those that poll poll, only then.</summary>
    public bool HasWatchers => Volatile.Read(ref _watchers).Length > 0;

    /// <summary>A new watcher's queue, receiving every event published from now on; null at <see cref="MaxWatchers"/>.</summary>
    public EventSubscription? TrySubscribe(int capacity = QueueCapacity)
    {
        lock (_lock)
        {
            if (_watchers.Length >= MaxWatchers)
            {
                return null;
            }

            var subscription = new EventSubscription(this, capacity);

            // Copy on write: publishing, on the relay's threads, reads the array without a lock.
            Volatile.Write(ref _watchers, [.. _watchers, subscription]);
            return subscription;
        }
    }

    internal void Unsubscribe(EventSubscription subscription)
    {
        lock (_lock)
        {
            Volatile.Write(ref _watchers, _watchers.Where(w => w != subscription).ToArray());
        }
    }

    public void Publish(ProxyEvent e)
    {
        foreach (var watcher in Volatile.Read(ref _watchers))
        {
            watcher.Offer(e);
        }
    }
}
