using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using SrsProxy.Udp;

namespace SrsProxy.Tcp;

/// <summary>
/// One accepted TCP connection carrying RFC 4571 frames (ICE-TCP, RFC 6544 section 3): a read task that cuts the
/// stream into frames and gives each to the handler, and a bounded queue of outgoing frames with a writer task.
/// A player that reads slowly fills the kernel's send buffer, then the queue; past that its frames are dropped and
/// counted (<see cref="QueueFullDrops"/>), as a full UDP buffer drops datagrams, and memory stays bounded.
/// Nothing is allocated per frame: the read buffer is the connection's, outgoing frames use pooled buffers.
/// </summary>
internal sealed class FramedConnection : IStreamSink
{
    /// <summary>
    /// Outgoing frames held per connection while the player reads slowly. 128 frames of WebRTC media (about
    /// 1,200 bytes each) is about 0.6 s of a 2 Mbit/s stream on top of the kernel's send buffer: enough to ride
    /// out a stall, small enough that 1,000 slow connections hold at most about 256 MiB of pooled buffers.
    /// </summary>
    internal const int QueueCapacity = 128;

    /// <summary>Bytes the writer gathers into one send: several small frames cost one system call.</summary>
    private const int SendBatchBytes = 16 * 1024;

    private readonly Socket _socket;
    private readonly int _maxPayload;
    private readonly Channel<OutgoingFrame> _queue;
    private readonly CancellationTokenSource _closing = new();
    private int _closeReason = -1;
    private long _lastFrame;
    private volatile bool _authenticated;

    /// <summary>Frames and bytes from the peer; written only by the read task.</summary>
    public long FramesIn;

    public long BytesIn;

    /// <summary>Frames and bytes queued to the peer, and frames dropped on a full queue; written by the one thread that relays the session's origin datagrams.</summary>
    public long FramesOut;

    public long BytesOut;

    public long QueueFullDrops;

    public FramedConnection(long id, Socket socket, SocketAddress remote, int maxPayload, long now)
    {
        Id = id;
        _socket = socket;
        _maxPayload = maxPayload;
        _lastFrame = now;
        Opened = now;
        Address = new StreamAddress(remote, this);

        // Never a synchronous continuation: the writer must not run its send on the thread that queued the frame
        // (the relay's pump, which serves every session).
        _queue = Channel.CreateBounded<OutgoingFrame>(new BoundedChannelOptions(QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            AllowSynchronousContinuations = false,
        });
    }

    public long Id { get; }

    /// <summary>The peer's address, as the session's player address for this connection.</summary>
    public StreamAddress Address { get; }

    /// <summary>Stopwatch timestamp of the accept.</summary>
    public long Opened { get; }

    /// <summary>Stopwatch timestamp of the peer's last whole frame (or of the accept).</summary>
    public long LastFrame => Volatile.Read(ref _lastFrame);

    /// <summary>True once the first frame authenticated the connection.</summary>
    public bool IsAuthenticated => _authenticated;

    /// <summary>The protocol's state for the connection (the WebRTC session it joined).</summary>
    public object? Tag { get; set; }

    public bool IsClosed => Volatile.Read(ref _closeReason) >= 0;

    /// <summary>Why it closed, once it has.</summary>
    public TcpCloseReason CloseReason => (TcpCloseReason)Math.Max(0, Volatile.Read(ref _closeReason));

    /// <summary>Runs the read and write tasks until the connection closes; the reason is <see cref="CloseReason"/>.</summary>
    public async Task RunAsync(IFramedConnectionHandler handler, TimeProvider time)
    {
        var writer = WriteLoopAsync();
        try
        {
            await ReadLoopAsync(handler, time);
        }
        finally
        {
            Close(TcpCloseReason.PeerClosed);
            await writer;
            _socket.Dispose();
            _closing.Dispose();
            if (IsAuthenticated)
            {
                handler.OnClosed(this);
            }
        }
    }

    /// <summary>Closes the connection for <paramref name="reason"/>; the first reason given is the one kept.</summary>
    public void Close(TcpCloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, -1) != -1)
        {
            return;
        }

        _queue.Writer.TryComplete();
        try
        {
            _closing.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        // Wakes a read that waits for bytes that will never come.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Abort() => Close(TcpCloseReason.SessionClosed);

    public bool TrySend(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > _maxPayload || IsClosed)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Rfc4571.HeaderLength + datagram.Length);
        Rfc4571.WriteHeader(buffer, datagram.Length);
        datagram.CopyTo(buffer.AsSpan(Rfc4571.HeaderLength));
        if (!_queue.Writer.TryWrite(new OutgoingFrame(buffer, Rfc4571.HeaderLength + datagram.Length)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!IsClosed)
            {
                QueueFullDrops++;
            }

            return false;
        }

        FramesOut++;
        BytesOut += datagram.Length;
        return true;
    }

    private async Task ReadLoopAsync(IFramedConnectionHandler handler, TimeProvider time)
    {
        // Room for one whole largest frame after any partial one kept from the previous read.
        var buffer = GC.AllocateUninitializedArray<byte>(2 * (Rfc4571.HeaderLength + _maxPayload));
        var filled = 0;
        while (true)
        {
            int read;
            try
            {
                read = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _closing.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            if (read == 0)
            {
                return;
            }

            filled += read;
            if (!Deliver(buffer, ref filled, handler, time))
            {
                return;
            }
        }
    }

    /// <summary>Hands every whole frame in the buffer to the handler and keeps the partial rest; false to close.</summary>
    private bool Deliver(byte[] buffer, ref int filled, IFramedConnectionHandler handler, TimeProvider time)
    {
        var offset = 0;
        var open = true;
        while (open)
        {
            var status = Rfc4571.TryReadFrame(buffer.AsSpan(offset, filled - offset), _maxPayload, out var length);
            if (status == FrameStatus.Incomplete)
            {
                break;
            }

            if (status is FrameStatus.TooLong or FrameStatus.Empty)
            {
                // The stream's framing is not what ICE-TCP sends: nothing after it can be trusted to be a packet.
                Close(TcpCloseReason.BadFrameLength);
                return false;
            }

            var frame = buffer.AsSpan(offset + Rfc4571.HeaderLength, length);
            offset += Rfc4571.HeaderLength + length;
            if (!IsAuthenticated)
            {
                if (!handler.OnFirstFrame(this, frame))
                {
                    Close(TcpCloseReason.BadFirstFrame);
                    return false;
                }

                _authenticated = true;
            }
            else
            {
                open = handler.OnFrame(this, frame);
            }

            // Only the peer's frames count as life, as only a player's datagrams do for a UDP session.
            Volatile.Write(ref _lastFrame, time.GetTimestamp());
            FramesIn++;
            BytesIn += length;
        }

        if (!open)
        {
            Close(TcpCloseReason.SessionClosed);
            return false;
        }

        if (offset > 0)
        {
            buffer.AsSpan(offset, filled - offset).CopyTo(buffer);
            filled -= offset;
        }

        return true;
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = ArrayPool<byte>.Shared.Rent(SendBatchBytes);
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                var used = 0;
                while (used + Rfc4571.HeaderLength + _maxPayload <= batch.Length && reader.TryRead(out var frame))
                {
                    frame.Buffer.AsSpan(0, frame.Length).CopyTo(batch.AsSpan(used));
                    used += frame.Length;
                    ArrayPool<byte>.Shared.Return(frame.Buffer);
                }

                if (used > 0 && !IsClosed)
                {
                    try
                    {
                        await _socket.SendAsync(batch.AsMemory(0, used), SocketFlags.None, _closing.Token);
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                    {
                        Close(TcpCloseReason.PeerClosed);
                    }
                }
            }
        }
        finally
        {
            // The queue is complete once closed: every frame still in it goes back to the pool, exactly once.
            while (reader.TryRead(out var frame))
            {
                ArrayPool<byte>.Shared.Return(frame.Buffer);
            }

            ArrayPool<byte>.Shared.Return(batch);
        }
    }
}
