namespace SrsProxy.Tcp;

/// <summary>Why a framed TCP connection ended (or was refused); each reason has its own counter.</summary>
internal enum TcpCloseReason
{
    /// <summary>The peer closed it, or the socket failed.</summary>
    PeerClosed,

    /// <summary>Refused at accept: the listener holds its maximum of connections.</summary>
    TooManyConnections,

    /// <summary>The first frame did not authenticate (not a STUN binding request of a known session, wrong MESSAGE-INTEGRITY, session full).</summary>
    BadFirstFrame,

    /// <summary>No whole first frame arrived within the deadline.</summary>
    FirstFrameTimeout,

    /// <summary>A frame's length field was zero or above the largest datagram relayed.</summary>
    BadFrameLength,

    /// <summary>No frame from the peer for the idle timeout.</summary>
    Idle,

    /// <summary>Its session ended (closed, idle, origin gone).</summary>
    SessionClosed,

    /// <summary>The proxy is stopping.</summary>
    Stopping,
}
