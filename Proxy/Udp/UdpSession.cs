using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Udp;

/// <summary>
/// One client's session in a <see cref="UdpRelayEngine"/>: the connected socket that carries its datagrams to
/// the origin (so the origin sees one distinct address per client), its idle clock and its counters.
/// A protocol derives from it and says where each datagram from the origin goes.
/// </summary>
internal abstract class UdpSession
{
    private Socket? _originSocket;
    private int _closed;
    private long _lastActivity;

    protected UdpSession(long now) => _lastActivity = now;

    /// <summary>Connected to the origin once attached; null before, and again once closed.</summary>
    public Socket? OriginSocket => Volatile.Read(ref _originSocket);

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Stopwatch timestamp of the client's last datagram (or of creation). Only the client's datagrams count:
    /// an origin keeps sending to a client that vanished (an SRS origin for about 30 s), and that must not keep
    /// the session open.
    /// </summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>Datagrams and bytes client to origin; written only by the one thread that reads the public socket (and, for SRT, by its origin handshake before the session is established).</summary>
    public long PacketsToOrigin;

    public long BytesToOrigin;

    /// <summary>Datagrams and bytes origin to client; written only by the thread that reads the origin socket.</summary>
    public long PacketsToClient;

    public long BytesToClient;

    /// <summary>The pump that reads <see cref="OriginSocket"/> (batched engine), and the session's tag in its epoll set (0: none).</summary>
    internal UdpPump? Pump;

    internal ulong PumpTag;

    public void Touch(long now) => Volatile.Write(ref _lastActivity, now);

    /// <summary>
    /// Where a datagram from the origin goes, or null to not relay it. Called on the thread that reads the
    /// origin socket, once per datagram: no allocation, no lock shared between sessions.
    /// </summary>
    public abstract SocketAddress? DestinationOf(ReadOnlySpan<byte> datagram);

    /// <summary>Marks the session closed; true only for the first caller.</summary>
    public bool TryClose() => Interlocked.Exchange(ref _closed, 1) == 0;

    /// <summary>
    /// Publishes the origin socket. False, with the socket disposed, when the session already has one or was
    /// closed meanwhile. Both this and <see cref="TakeOriginSocket"/> are interlocked, so a close that runs at
    /// the same moment cannot miss the socket: whichever side takes it disposes it.
    /// </summary>
    internal bool TryPublishOriginSocket(Socket socket)
    {
        if (Interlocked.CompareExchange(ref _originSocket, socket, null) is not null)
        {
            socket.Dispose();
            return false;
        }

        // Interlocked.CompareExchange is a full fence: the closed flag read below cannot move before the
        // publication above, the store-load reordering that let both sides miss the socket before.
        if (IsClosed)
        {
            TakeOriginSocket()?.Dispose();
            return false;
        }

        return true;
    }

    /// <summary>Takes the origin socket away (to close it); null if there is none or another caller took it.</summary>
    internal Socket? TakeOriginSocket() => Interlocked.Exchange(ref _originSocket, null);
}
