namespace SrsProxy.Tcp;

/// <summary>What one <see cref="FramedTcpListener"/> accepts.</summary>
/// <param name="Name">For logs: <c>rtc</c>.</param>
/// <param name="Setting">The setting the address comes from, named when it cannot bind.</param>
/// <param name="MaxPayload">Largest frame payload; a longer length field closes the connection.</param>
/// <param name="MaxConnections">Connections open at once; more are closed at accept.</param>
/// <param name="FirstFrameTimeout">Time from accept to the first whole frame.</param>
/// <param name="IdleTimeout">Longest silence of an authenticated connection's peer.</param>
/// <param name="SweepPeriod">How often the deadlines are checked.</param>
internal sealed record FramedListenerOptions(
    string Name,
    string Setting,
    int MaxPayload,
    int MaxConnections,
    TimeSpan FirstFrameTimeout,
    TimeSpan IdleTimeout,
    TimeSpan SweepPeriod);
