using SrsProxy.SystemApi;

namespace SrsProxy.Grpc;

/// <summary>A WebRTC session is relayed here from now on, as <c>ListSessions</c> would show it.</summary>
internal sealed record SessionOpenedEvent(DateTimeOffset Time, SessionView Session) : ProxyEvent(Time);
