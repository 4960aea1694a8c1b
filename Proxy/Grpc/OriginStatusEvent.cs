namespace SrsProxy.Grpc;

/// <summary>An origin came alive (registered, or heartbeats again) or died (its TTL passed, or it was forgotten).</summary>
internal sealed record OriginStatusEvent(DateTimeOffset Time, string OriginId, bool Alive) : ProxyEvent(Time);
