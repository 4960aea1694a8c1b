namespace SrsProxy.Grpc;

/// <summary>A stream's affinity moved from one origin to another.</summary>
internal sealed record StreamMovedEvent(DateTimeOffset Time, string Stream, string FromOriginId, string ToOriginId) : ProxyEvent(Time);
