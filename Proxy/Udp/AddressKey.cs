using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Udp;

/// <summary>
/// A player's transport address as a small value, read straight from the raw <see cref="SocketAddress"/>
/// bytes, so the relay can look up a session per datagram without allocating an <see cref="EndPoint"/>.
/// </summary>
internal readonly struct AddressKey : IEquatable<AddressKey>
{
    private const ulong StreamMarker = 1UL << 63;

    private readonly ulong _high;
    private readonly ulong _low;
    private readonly ulong _portAndScope;

    private AddressKey(ulong high, ulong low, ulong portAndScope)
    {
        _high = high;
        _low = low;
        _portAndScope = portAndScope;
    }

    public static AddressKey From(SocketAddress address)
    {
        var raw = address.Buffer.Span;

        // sockaddr_in / sockaddr_in6: family (2), port (2), then IPv4 address (4) or flow info (4),
        // IPv6 address (16), scope id (4). The first four bytes cover family and port.
        ulong head = BinaryPrimitives.ReadUInt32LittleEndian(raw);
        if (address.Family == AddressFamily.InterNetworkV6 && address.Size >= 28)
        {
            return new AddressKey(
                BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(raw[16..]),
                head | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(raw[24..]) << 32));
        }

        return new AddressKey(0, BinaryPrimitives.ReadUInt32LittleEndian(raw[4..]), head);
    }

    /// <summary>
    /// The key of a stream connection's remote address (ICE-TCP): the same numbers as <see cref="From"/> with the top
    /// bit set, which no UDP key has (it sits above the IPv6 scope id's low bits), so a player's TCP and UDP
    /// sockets on one port number stay apart.
    /// </summary>
    public static AddressKey ForStream(SocketAddress address)
    {
        var key = From(address);
        return new AddressKey(key._high, key._low, key._portAndScope | StreamMarker);
    }

    /// <summary>True for a key made by <see cref="ForStream"/>.</summary>
    public bool IsStream => (_portAndScope & StreamMarker) != 0;

    public bool Equals(AddressKey other) => _high == other._high && _low == other._low && _portAndScope == other._portAndScope;

    public override bool Equals(object? obj) => obj is AddressKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _portAndScope);

    public static bool operator ==(AddressKey left, AddressKey right) => left.Equals(right);

    public static bool operator !=(AddressKey left, AddressKey right) => !left.Equals(right);
}
