using System.Net.Sockets;

namespace SrsProxy.Configuration;

/// <summary>
/// A listener could not bind its address at start (in use, not permitted, no such address). The message
/// names the setting and the address, so the operator knows which of the proxy's listeners failed.
/// </summary>
internal sealed class ListenerBindException(string setting, string transport, ListenAddress address, SocketException inner)
    : Exception($"{setting}={address} ({transport}): {inner.Message}", inner)
{
    /// <summary>Binds <paramref name="socket"/> to <paramref name="address"/>, naming the setting if it fails.</summary>
    public static void Bind(Socket socket, ListenAddress address, string setting)
    {
        try
        {
            socket.Bind(address.ToEndPoint());
        }
        catch (SocketException e)
        {
            throw new ListenerBindException(setting, socket.ProtocolType == ProtocolType.Tcp ? "tcp" : "udp", address, e);
        }
    }
}
