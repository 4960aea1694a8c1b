namespace SrsProxy.Grpc;

/// <summary>
/// Something an operator watching the proxy wants to know when it happens (<c>WatchEvents</c>), with when it
/// was seen. Plain data, mapped to the <c>srsproxy.v1.Event</c> message by <see cref="ControlMapping"/>.
/// </summary>
internal abstract record ProxyEvent(DateTimeOffset Time);
