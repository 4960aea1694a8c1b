using System.Buffers;
using System.Net.Sockets;

namespace SrsProxy.Udp;

internal sealed partial class UdpRelayEngine
{
    /// <summary>
    /// The portable origin-to-client half: the session's own receive loop. What the origin sends goes where
    /// the session says.
    /// </summary>
    private async Task OriginLoopAsync(UdpSession session, Socket originSocket)
    {
        var size = _options.MaxDatagramSize;
        var buffer = ArrayPool<byte>.Shared.Rent(size + 1);
        try
        {
            var publicSocket = _socket!;
            while (!session.IsClosed)
            {
                int length;
                try
                {
                    length = await originSocket.ReceiveAsync(buffer.AsMemory(0, size + 1), SocketFlags.None);
                }
                catch (SocketException e) when (!session.IsClosed && IsPerDatagramError(e.SocketErrorCode))
                {
                    // The origin's port answered an earlier datagram with ICMP unreachable, or sent one too large.
                    Counters.Drop(e.SocketErrorCode == SocketError.MessageSize ? DropReason.Malformed : DropReason.SendFailed);
                    continue;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    break;
                }

                if (length > size)
                {
                    Counters.Drop(DropReason.Malformed);
                    continue;
                }

                var datagram = buffer.AsSpan(0, length);
                // The origin's datagrams do not touch the idle clock: only the client's keep a session alive.
                var client = session.DestinationOf(datagram);
                if (client is null)
                {
                    continue;
                }

                if (client is StreamAddress stream)
                {
                    // ICE-TCP: the connection's queue takes a copy; a full queue is its counted drop.
                    if (stream.Sink.TrySend(datagram))
                    {
                        session.PacketsToClient++;
                        session.BytesToClient += length;
                    }

                    continue;
                }

                try
                {
                    publicSocket.SendTo(datagram, SocketFlags.None, client);
                }
                catch (SocketException)
                {
                    Counters.Drop(DropReason.SendFailed);
                    continue;
                }
                catch (ObjectDisposedException)
                {
                    break;
                }

                session.PacketsToClient++;
                session.BytesToClient += length;
            }
        }
        catch (Exception e)
        {
            LogOriginLoopFailed(_options.Name, e);
            Detach(session);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
