using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace SrsProxy.Bench;

/// <summary>
/// The STUN (RFC 8489) an ICE-lite origin and a controlling player exchange: binding requests signed with
/// the answerer's password (USERNAME "answer-ufrag:offer-ufrag", MESSAGE-INTEGRITY, section 14.5) and
/// success responses that echo the transaction id. No FINGERPRINT: neither side here checks it.
/// </summary>
internal static class Stun
{
    public const int HeaderLength = 20;
    public const int TransactionIdLength = 12;
    public const uint MagicCookie = 0x2112A442;
    private const ushort BindingRequest = 0x0001;
    private const ushort BindingSuccess = 0x0101;
    private const ushort AttributeUsername = 0x0006;
    private const ushort AttributeMessageIntegrity = 0x0008;
    private const ushort AttributeXorMappedAddress = 0x0020;
    private const ushort AttributePriority = 0x0024;
    private const ushort AttributeUseCandidate = 0x0025;
    private const ushort AttributeIceControlling = 0x802A;
    private const int IntegrityLength = 20;

    /// <summary>A binding request with USE-CANDIDATE (the player nominates the pair), signed with <paramref name="password"/>.</summary>
    public static int WriteBindingRequest(Span<byte> buffer, ReadOnlySpan<byte> transactionId, ReadOnlySpan<byte> username, ReadOnlySpan<byte> password, ulong tieBreaker)
    {
        WriteHeader(buffer, BindingRequest, transactionId);
        var offset = HeaderLength;
        offset = WriteAttribute(buffer, offset, AttributeUsername, username);
        Span<byte> value = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(value, 0x6E0001FF);
        offset = WriteAttribute(buffer, offset, AttributePriority, value[..4]);
        BinaryPrimitives.WriteUInt64BigEndian(value, tieBreaker);
        offset = WriteAttribute(buffer, offset, AttributeIceControlling, value);
        offset = WriteAttribute(buffer, offset, AttributeUseCandidate, []);
        return Sign(buffer, offset, password);
    }

    /// <summary>A binding success response to <paramref name="request"/>, with the requester's address.</summary>
    public static int WriteBindingSuccess(Span<byte> buffer, ReadOnlySpan<byte> request, SocketAddress from, ReadOnlySpan<byte> password)
    {
        WriteHeader(buffer, BindingSuccess, request.Slice(8, TransactionIdLength));
        var offset = HeaderLength;

        // XOR-MAPPED-ADDRESS (section 14.2), IPv4 only: the benchmark runs on 127.0.0.1.
        Span<byte> mapped = stackalloc byte[8];
        var endPoint = new IPEndPoint(IPAddress.Any, 0).Create(from) as IPEndPoint;
        mapped[1] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(mapped[2..], (ushort)((endPoint?.Port ?? 0) ^ (MagicCookie >> 16)));
        (endPoint?.Address ?? IPAddress.Any).TryWriteBytes(mapped[4..], out _);
        BinaryPrimitives.WriteUInt32BigEndian(mapped[4..], BinaryPrimitives.ReadUInt32BigEndian(mapped[4..]) ^ MagicCookie);
        offset = WriteAttribute(buffer, offset, AttributeXorMappedAddress, mapped);
        return Sign(buffer, offset, password);
    }

    public static bool IsBindingRequest(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && BinaryPrimitives.ReadUInt16BigEndian(datagram) == BindingRequest &&
        BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    public static bool IsBindingSuccess(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && BinaryPrimitives.ReadUInt16BigEndian(datagram) == BindingSuccess &&
        BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    public static ReadOnlySpan<byte> TransactionId(ReadOnlySpan<byte> datagram) => datagram.Slice(8, TransactionIdLength);

    /// <summary>The USERNAME of a request and the offset of its MESSAGE-INTEGRITY (or -1); false if malformed.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> username, out int integrityOffset)
    {
        username = default;
        integrityOffset = -1;
        if (!IsBindingRequest(datagram) || HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]) != datagram.Length)
        {
            return false;
        }

        var offset = HeaderLength;
        while (offset + 4 <= datagram.Length)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(datagram[offset..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[(offset + 2)..]);
            if (offset + 4 + length > datagram.Length)
            {
                return false;
            }

            if (type == AttributeUsername)
            {
                username = datagram.Slice(offset + 4, length);
            }
            else if (type == AttributeMessageIntegrity && length == IntegrityLength)
            {
                integrityOffset = offset;
                break;
            }

            offset += 4 + ((length + 3) & ~3);
        }

        return !username.IsEmpty;
    }

    /// <summary>Checks MESSAGE-INTEGRITY as the relay does (section 14.5): the length field covers the attribute.</summary>
    public static bool HasValidIntegrity(ReadOnlySpan<byte> datagram, int integrityOffset, ReadOnlySpan<byte> password)
    {
        if (integrityOffset < HeaderLength || integrityOffset + 4 + IntegrityLength > datagram.Length)
        {
            return false;
        }

        Span<byte> signed = stackalloc byte[integrityOffset];
        datagram[..integrityOffset].CopyTo(signed);
        BinaryPrimitives.WriteUInt16BigEndian(signed[2..], (ushort)(integrityOffset + 4 + IntegrityLength - HeaderLength));
        Span<byte> mac = stackalloc byte[IntegrityLength];
        HMACSHA1.HashData(password, signed, mac);
        return CryptographicOperations.FixedTimeEquals(mac, datagram.Slice(integrityOffset + 4, IntegrityLength));
    }

    private static void WriteHeader(Span<byte> buffer, ushort type, ReadOnlySpan<byte> transactionId)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, type);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], MagicCookie);
        transactionId.CopyTo(buffer[8..]);
    }

    private static int WriteAttribute(Span<byte> buffer, int offset, ushort type, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], type);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(offset + 2)..], (ushort)value.Length);
        value.CopyTo(buffer[(offset + 4)..]);
        var padded = (value.Length + 3) & ~3;
        buffer.Slice(offset + 4 + value.Length, padded - value.Length).Clear();
        return offset + 4 + padded;
    }

    /// <summary>Appends MESSAGE-INTEGRITY over everything before it, the length field already covering it.</summary>
    private static int Sign(Span<byte> buffer, int offset, ReadOnlySpan<byte> password)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)(offset + 4 + IntegrityLength - HeaderLength));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[offset..], AttributeMessageIntegrity);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(offset + 2)..], IntegrityLength);
        HMACSHA1.HashData(password, buffer[..offset], buffer.Slice(offset + 4, IntegrityLength));
        return offset + 4 + IntegrityLength;
    }
}
