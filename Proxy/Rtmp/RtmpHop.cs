using System.Net.Sockets;

namespace SrsProxy.Rtmp;

/// <summary>
/// One side of an RTMP session through the proxy, client or origin: its connection, chunk reader and writer,
/// and the acknowledgement state that belongs to that hop alone (RTMP section 5.4.3: each peer announces its
/// window, and the reader acknowledges what it has read).
/// </summary>
internal sealed class RtmpHop : IAsyncDisposable
{
    /// <summary>Buffered bytes per direction of a hop.</summary>
    private const int BufferBytes = 64 * 1024;

    public RtmpHop(Socket socket)
    {
        Socket = socket;

        // One buffer per direction: a BufferedStream cannot write while it holds unread input.
        Input = new BufferedStream(new NetworkStream(socket, ownsSocket: false), BufferBytes);
        Output = new BufferedStream(new NetworkStream(socket, ownsSocket: false), BufferBytes);
        Reader = new RtmpChunkReader(Input);
        Writer = new RtmpChunkWriter(Output);
    }

    public Socket Socket { get; }

    public Stream Input { get; }

    public Stream Output { get; }

    public RtmpChunkReader Reader { get; }

    public RtmpChunkWriter Writer { get; }

    /// <summary>The window the peer announced (Window Acknowledgement Size); 0 until it does.</summary>
    public long AckWindow { get; set; }

    /// <summary>Bytes read from this hop when the proxy last acknowledged.</summary>
    private long _acked;

    /// <summary>Sends an Acknowledgement when the peer's announced window has been read since the last one.</summary>
    public ValueTask AcknowledgeAsync(CancellationToken cancellationToken)
    {
        if (AckWindow <= 0 || Reader.BytesRead - _acked < AckWindow)
        {
            return ValueTask.CompletedTask;
        }

        _acked = Reader.BytesRead;
        return RtmpControl.SendAsync(Writer, RtmpMessage.Acknowledgement, (int)(uint)Reader.BytesRead, cancellationToken);
    }

    /// <summary>Ends both directions so that a pump blocked on this hop returns.</summary>
    public void Shutdown()
    {
        try
        {
            Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: that is why we are shutting down.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Dispose();
        await Input.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Output.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Reader.Dispose();
        Writer.Dispose();
    }
}
