using System.Net;

namespace SrsProxy.Udp;

/// <summary>
/// A client address that leads to a stream connection (ICE-TCP) rather than to the public UDP socket. It sits in a
/// session's address slots like any player address, so the protocol's rules (nomination, STUN transaction routing)
/// treat both transports alike; the engine tells them apart by type when a datagram from the origin is to go
/// there, the one branch the UDP path pays for TCP. Its bytes are the connection's remote address, kept for logs.
/// </summary>
internal sealed class StreamAddress : SocketAddress
{
    public StreamAddress(SocketAddress remote, IStreamSink sink)
        : base(remote.Family, remote.Size)
    {
        remote.Buffer.Span[..remote.Size].CopyTo(Buffer.Span);
        Sink = sink;
        Key = AddressKey.ForStream(this);
    }

    public IStreamSink Sink { get; }

    /// <summary>The address's key, marked as a stream's so it never equals the key of a UDP address with the same numbers.</summary>
    public AddressKey Key { get; }
}
