using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Srt;

/// <summary>One SRT caller through the proxy: its address, and the socket that carries it to its origin.</summary>
internal sealed class SrtSession(SocketAddress client, string stream)
{
    private int _closed;
    private long _lastActivity;

    public SocketAddress Client { get; } = client;

    public string Stream { get; } = stream;

    /// <summary>Connected to the origin; null while the origin handshake is in progress.</summary>
    public Socket? Origin { get; set; }

    public bool Established => Volatile.Read(ref _established) != 0;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public long LastActivity => Volatile.Read(ref _lastActivity);

    public long PacketsToOrigin;

    public long PacketsToClient;

    private int _established;

    public void MarkEstablished() => Volatile.Write(ref _established, 1);

    public void Touch(long now) => Volatile.Write(ref _lastActivity, now);

    public bool TryClose()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        Origin?.Dispose();
        return true;
    }

    /// <summary>The origin's SRT socket id from its conclusion response: the caller's datagrams carry it.</summary>
    public uint OriginSocketId { get; set; }

    public override string ToString() => $"{WebRtc.Relay.AddressText.Of(Client)} {Stream}";
}
