namespace SrsProxy.Udp;

/// <summary>
/// A relay's counters. Drops are counted by the receive loops; the per-session packet counters live on
/// <see cref="UdpSession"/> so no two threads write one cache line per datagram.
/// </summary>
internal sealed class UdpCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    public long ClosedPacketsToOrigin;
    public long ClosedBytesToOrigin;
    public long ClosedPacketsToClient;
    public long ClosedBytesToClient;
    public long SessionsOpened;
    public long SessionsClosed;

    public void Drop(DropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    public long Drops(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);

    /// <summary>Adds a closed session's traffic to the totals, so that the totals survive it.</summary>
    public void AddClosed(UdpSession session)
    {
        Interlocked.Add(ref ClosedPacketsToOrigin, Volatile.Read(ref session.PacketsToOrigin));
        Interlocked.Add(ref ClosedBytesToOrigin, Volatile.Read(ref session.BytesToOrigin));
        Interlocked.Add(ref ClosedPacketsToClient, Volatile.Read(ref session.PacketsToClient));
        Interlocked.Add(ref ClosedBytesToClient, Volatile.Read(ref session.BytesToClient));
        Interlocked.Increment(ref SessionsClosed);
    }
}
