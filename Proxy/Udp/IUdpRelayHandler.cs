using System.Net;

namespace SrsProxy.Udp;

/// <summary>The protocol side of a <see cref="UdpRelayEngine"/>: what to do with datagrams from clients, and its sweep.</summary>
internal interface IUdpRelayHandler
{
    /// <summary>
    /// One datagram on the public socket, from a client or a stranger, at most the engine's largest size.
    /// Called on the engine's receive loop: no blocking, no allocation on the common path.
    /// </summary>
    void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from);

    /// <summary>Runs every sweep period: close idle sessions, those of dead origins, refresh shared state.</summary>
    Task SweepAsync(CancellationToken cancellationToken);
}
