namespace SrsProxy.Grpc;

/// <summary>A watcher fell behind: this many events were not queued for it.</summary>
internal sealed record EventsDroppedEvent(DateTimeOffset Time, long Count) : ProxyEvent(Time);
