using System.Net.Sockets;

namespace SrsProxy.Udp;

/// <summary>
/// A thread of the batched engine that relays the origins' datagrams to the clients (and, on the first one, the
/// clients' to the protocol): <see cref="UdpPump"/> on epoll, <see cref="UringPump"/> on io_uring.
/// </summary>
internal interface IUdpPump : IDisposable
{
    /// <summary>The thread's name (<c>rtc-pump-0</c>), as <c>/proc</c> and profiles show it.</summary>
    string Name { get; }

    /// <summary>The kernel's id of the pump's thread, 0 until it runs: where <see cref="PumpThreadStats"/> reads its counts.</summary>
    int ThreadId { get; }

    /// <summary>Starts reading the session's origin socket. False if the socket is already closed.</summary>
    bool Add(UdpSession session, Socket socket);

    /// <summary>Stops reading the session's socket; call before disposing it. Safe to call twice.</summary>
    void Remove(UdpSession session, Socket socket);
}
