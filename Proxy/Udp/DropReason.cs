namespace SrsProxy.Udp;

/// <summary>Why a relay dropped a datagram; each reason has its own counter.</summary>
internal enum DropReason
{
    /// <summary>From an address with no session, and not a handshake that opens one.</summary>
    UnknownAddress,

    /// <summary>A STUN request whose USERNAME matches no session (WebRTC).</summary>
    UnknownUsername,

    /// <summary>A STUN request from a new address whose MESSAGE-INTEGRITY does not check out (WebRTC).</summary>
    BadIntegrity,

    /// <summary>Does not parse as the protocol's datagrams, or is larger than the relay takes.</summary>
    Malformed,

    /// <summary>The kernel refused the send (buffer full, destination unreachable).</summary>
    SendFailed,

    /// <summary>For a session that was closing while the datagram was in flight.</summary>
    SessionClosed,
}
