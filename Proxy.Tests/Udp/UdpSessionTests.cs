using System.Net;
using System.Net.Sockets;
using SrsProxy.Udp;

namespace SrsProxy.Tests.Udp;

public class UdpSessionTests
{
    private sealed class Session() : UdpSession(0)
    {
        public override SocketAddress? DestinationOf(ReadOnlySpan<byte> datagram) => null;
    }

    private static Socket NewSocket() => new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    private static bool IsDisposed(Socket socket)
    {
        try
        {
            _ = socket.Available;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    [Fact]
    public void PublishOriginSocket_AfterClose_DisposesIt()
    {
        var session = new Session();
        Assert.True(session.TryClose());
        var socket = NewSocket();
        Assert.False(session.TryPublishOriginSocket(socket));
        Assert.True(IsDisposed(socket));
        Assert.Null(session.OriginSocket);
    }

    [Fact]
    public void PublishOriginSocket_Twice_SecondIsDisposed_FirstStays()
    {
        var session = new Session();
        using var first = NewSocket();
        var second = NewSocket();
        Assert.True(session.TryPublishOriginSocket(first));
        Assert.False(session.TryPublishOriginSocket(second));
        Assert.Same(first, session.OriginSocket);
        Assert.True(IsDisposed(second));
        Assert.False(IsDisposed(first));
    }

    /// <summary>
    /// Regression: the socket was published with a plain store and then the closed flag read, while a close
    /// set the flag and then read the socket. Store-load reordering let both miss, and the socket leaked.
    /// Here a close races every publish; each socket must end up disposed by exactly one side.
    /// </summary>
    [Fact]
    public async Task PublishOriginSocket_RacingClose_SocketNeverLeaks()
    {
        const int Rounds = 2000;
        var leaked = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var session = new Session();
            var socket = NewSocket();
            using var start = new Barrier(2);
            var publish = Task.Run(() =>
            {
                start.SignalAndWait();
                session.TryPublishOriginSocket(socket);
            });
            var close = Task.Run(() =>
            {
                start.SignalAndWait();
                session.TryClose();
                session.TakeOriginSocket()?.Dispose();
            });
            await Task.WhenAll(publish, close);
            if (!IsDisposed(socket))
            {
                leaked++;
                socket.Dispose();
            }
        }

        Assert.Equal(0, leaked);
    }
}
