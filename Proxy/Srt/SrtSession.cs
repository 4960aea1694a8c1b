using System.Net;
using System.Threading.Channels;
using SrsProxy.Udp;

namespace SrsProxy.Srt;

/// <summary>
/// One SRT caller through the proxy: its address, and (through <see cref="UdpSession"/>) the socket that
/// carries it to its origin. Until the origin's conclusion arrives, what the origin sends is a handshake for
/// the proxy to read, not for the caller; after it, everything goes to the caller.
/// </summary>
internal sealed class SrtSession : UdpSession
{
    /// <summary>Origin handshakes held while the proxy waits for one; past it the oldest goes.</summary>
    private const int HandshakeQueue = 4;

    private readonly Channel<byte[]> _handshakes = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(HandshakeQueue) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private int _established;

    public SrtSession(SocketAddress client, string stream, long now)
        : base(now)
    {
        Client = client;
        Stream = stream;
    }

    public SocketAddress Client { get; }

    public string Stream { get; }

    public bool Established => Volatile.Read(ref _established) != 0;

    /// <summary>The origin's SRT socket id from its conclusion response: the caller's datagrams carry it.</summary>
    public uint OriginSocketId { get; private set; }

    /// <summary>The handshake with the origin is done: from now on its datagrams go to the caller.</summary>
    public void MarkEstablished(uint originSocketId)
    {
        OriginSocketId = originSocketId;
        Volatile.Write(ref _established, 1);
        _handshakes.Writer.TryComplete();
    }

    /// <summary>The next handshake the origin sent, or null when none came in time.</summary>
    public async Task<byte[]?> NextHandshakeAsync(TimeSpan timeout, TimeProvider time)
    {
        using var cancel = new CancellationTokenSource(timeout, time);
        try
        {
            return await _handshakes.Reader.ReadAsync(cancel.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return null;
        }
    }

    public override SocketAddress? DestinationOf(ReadOnlySpan<byte> datagram)
    {
        if (Established)
        {
            return Client;
        }

        // During the origin handshake (a few datagrams per session): a copy for the proxy to read.
        if (SrtHandshake.TryParse(datagram, out _))
        {
            _handshakes.Writer.TryWrite(datagram.ToArray());
        }

        return null;
    }

    public override string ToString() => $"{AddressText.Of(Client)} {Stream}";
}
