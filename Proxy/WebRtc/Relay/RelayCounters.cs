namespace SrsProxy.WebRtc.Relay;

/// <summary>Why a datagram was dropped; each reason has its own counter.</summary>
internal enum DropReason
{
    /// <summary>From an address with no session, and not a STUN request naming one.</summary>
    UnknownAddress,

    /// <summary>A STUN request whose USERNAME matches no session.</summary>
    UnknownUsername,

    /// <summary>A STUN request from a new address whose MESSAGE-INTEGRITY does not check out.</summary>
    BadIntegrity,

    /// <summary>Not STUN, DTLS or RTP/RTCP, or a STUN message that does not parse.</summary>
    Malformed,

    /// <summary>The kernel refused the send (buffer full, origin unreachable).</summary>
    SendFailed,

    /// <summary>For a session that was closing while the datagram was in flight.</summary>
    SessionClosed,
}

/// <summary>
/// The relay's counters. Drops are counted by the receive loops; the per-session packet counters live on
/// <see cref="RtcSession"/> so no two threads write one cache line per datagram.
/// </summary>
internal sealed class RelayCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    public long ClosedPacketsToOrigin;
    public long ClosedBytesToOrigin;
    public long ClosedPacketsToPlayer;
    public long ClosedBytesToPlayer;
    public long SessionsOpened;
    public long SessionsClosed;

    public void Drop(DropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    public long Drops(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);
}
