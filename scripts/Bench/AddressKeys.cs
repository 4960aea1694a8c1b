using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Bench;

/// <summary>
/// A 64-bit key for an IPv4 socket address (family, port, address: the first 8 bytes of sockaddr_in), so
/// a datagram's sender is looked up without allocating. The benchmark binds 127.0.0.1 only.
/// </summary>
internal static class AddressKeys
{
    public static ulong Of(SocketAddress address) =>
        address.Family == AddressFamily.InterNetwork && address.Size >= 8
            ? BinaryPrimitives.ReadUInt64LittleEndian(address.Buffer.Span)
            : throw new NotSupportedException("the benchmark runs on IPv4 loopback");
}
