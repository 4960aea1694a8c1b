using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Udp;

/// <summary>Formats a raw socket address as <c>ip:port</c> for logs and the API; never on the per-datagram path.</summary>
internal static class AddressText
{
    private static readonly IPEndPoint V4 = new(IPAddress.Any, 0);
    private static readonly IPEndPoint V6 = new(IPAddress.IPv6Any, 0);

    public static string Of(SocketAddress address)
    {
        var template = address.Family == AddressFamily.InterNetworkV6 ? V6 : V4;
        var endPoint = (IPEndPoint)template.Create(address);
        return endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port).ToString() : endPoint.ToString();
    }
}
