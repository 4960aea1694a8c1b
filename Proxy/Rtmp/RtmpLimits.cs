namespace SrsProxy.Rtmp;

/// <summary>Time limits of an RTMP connection's set-up phases; a client that never finishes one is dropped.</summary>
internal sealed record RtmpLimits(TimeSpan HandshakeTimeout, TimeSpan CommandTimeout, TimeSpan OriginTimeout, int MaxConnections)
{
    /// <summary>10 s for the handshake, 30 s to name a stream, the origin timeout for the origin, 1,000 clients.</summary>
    public static RtmpLimits From(Configuration.ProxyOptions options) =>
        new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), options.OriginTimeout, 1000);
}
