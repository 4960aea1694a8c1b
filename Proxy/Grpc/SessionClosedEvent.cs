namespace SrsProxy.Grpc;

/// <summary>A WebRTC session relayed here closed, and why (the relay's own words, as in its log).</summary>
internal sealed record SessionClosedEvent(
    DateTimeOffset Time,
    string SessionId,
    string Kind,
    string Stream,
    string OriginId,
    string Reason,
    long PacketsToOrigin,
    long PacketsToPlayer) : ProxyEvent(Time);
