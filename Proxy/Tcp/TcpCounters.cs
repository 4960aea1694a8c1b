namespace SrsProxy.Tcp;

/// <summary>
/// A framed listener's counters. Frame and byte counts live on each <see cref="FramedConnection"/> (one writer
/// each way) and are added here when it closes, so no two connections write one cache line per frame.
/// </summary>
internal sealed class TcpCounters
{
    private readonly long[] _closed = new long[Enum.GetValues<TcpCloseReason>().Length];

    public long Accepted;
    public long ClosedFramesIn;
    public long ClosedBytesIn;
    public long ClosedFramesOut;
    public long ClosedBytesOut;
    public long ClosedQueueFullDrops;

    public void Closed(TcpCloseReason reason) => Interlocked.Increment(ref _closed[(int)reason]);

    public long ClosedFor(TcpCloseReason reason) => Volatile.Read(ref _closed[(int)reason]);

    /// <summary>Adds a closed connection's traffic to the totals, so that they survive it.</summary>
    public void AddClosed(FramedConnection connection)
    {
        Interlocked.Add(ref ClosedFramesIn, Volatile.Read(ref connection.FramesIn));
        Interlocked.Add(ref ClosedBytesIn, Volatile.Read(ref connection.BytesIn));
        Interlocked.Add(ref ClosedFramesOut, Volatile.Read(ref connection.FramesOut));
        Interlocked.Add(ref ClosedBytesOut, Volatile.Read(ref connection.BytesOut));
        Interlocked.Add(ref ClosedQueueFullDrops, Volatile.Read(ref connection.QueueFullDrops));
    }
}
