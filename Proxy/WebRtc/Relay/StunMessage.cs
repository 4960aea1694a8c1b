using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// The parts of a STUN message (RFC 8489) the relay needs: its type, its USERNAME and where its
/// MESSAGE-INTEGRITY sits. A view over the datagram; parsing never throws, never reads past the datagram and
/// rejects anything not well formed.
/// </summary>
internal readonly ref struct StunMessage
{
    public const int HeaderLength = 20;
    public const uint MagicCookie = 0x2112A442;
    public const ushort BindingRequest = 0x0001;
    public const ushort AttributeUsername = 0x0006;
    public const ushort AttributeMessageIntegrity = 0x0008;

    /// <summary>RFC 8445 section 7.1.2: the controlling agent nominates the pair this request checks.</summary>
    public const ushort AttributeUseCandidate = 0x0025;

    public const int TransactionIdLength = 12;

    /// <summary>RFC 8489 section 14.3: USERNAME is less than 509 bytes.</summary>
    public const int MaxUsernameLength = 509;

    private const int MessageIntegrityLength = 20;

    private StunMessage(ReadOnlySpan<byte> datagram, ushort type, ReadOnlySpan<byte> username, int integrityOffset, bool useCandidate)
    {
        Datagram = datagram;
        Type = type;
        Username = username;
        IntegrityOffset = integrityOffset;
        HasUseCandidate = useCandidate;
    }

    public ReadOnlySpan<byte> Datagram { get; }

    public ushort Type { get; }

    /// <summary>The USERNAME value, empty when the message has none.</summary>
    public ReadOnlySpan<byte> Username { get; }

    /// <summary>Offset of the MESSAGE-INTEGRITY attribute header, or -1.</summary>
    public int IntegrityOffset { get; }

    /// <summary>True when the request carries USE-CANDIDATE: the player nominated this address for media.</summary>
    public bool HasUseCandidate { get; }

    public bool IsBindingRequest => Type == BindingRequest;

    public ReadOnlySpan<byte> TransactionId => Datagram.Slice(8, TransactionIdLength);

    /// <summary>
    /// True for a STUN success or error response: class bit C1 (bit 8 of the message type, RFC 8489
    /// section 5) is set. It answers a request and goes back to whoever sent it. A header check only.
    /// </summary>
    public static bool IsResponse(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && datagram[0] <= 3 && (datagram[0] & 0x01) != 0 &&
        BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    public static bool TryParse(ReadOnlySpan<byte> datagram, out StunMessage message)
    {
        message = default;
        if (datagram.Length < HeaderLength)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if ((type & 0xC000) != 0 || (length & 3) != 0 || HeaderLength + length != datagram.Length ||
            BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != MagicCookie)
        {
            return false;
        }

        ReadOnlySpan<byte> username = default;
        var integrityOffset = -1;
        var useCandidate = false;
        var offset = HeaderLength;
        while (offset < datagram.Length)
        {
            if (datagram.Length - offset < 4)
            {
                return false;
            }

            var attributeType = BinaryPrimitives.ReadUInt16BigEndian(datagram[offset..]);
            var attributeLength = BinaryPrimitives.ReadUInt16BigEndian(datagram[(offset + 2)..]);
            var padded = (attributeLength + 3) & ~3;
            if (padded > datagram.Length - offset - 4)
            {
                return false;
            }

            if (integrityOffset < 0)
            {
                // Attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored (section 14.5).
                switch (attributeType)
                {
                    case AttributeUsername:
                        if (attributeLength is 0 or > MaxUsernameLength)
                        {
                            return false;
                        }

                        username = datagram.Slice(offset + 4, attributeLength);
                        break;
                    case AttributeMessageIntegrity:
                        if (attributeLength != MessageIntegrityLength)
                        {
                            return false;
                        }

                        integrityOffset = offset;
                        break;
                    case AttributeUseCandidate:
                        useCandidate = true;
                        break;
                }
            }

            offset += 4 + padded;
        }

        message = new StunMessage(datagram, type, username, integrityOffset, useCandidate);
        return true;
    }

    /// <summary>
    /// Checks MESSAGE-INTEGRITY with the short-term credential <paramref name="password"/> (RFC 8489
    /// section 14.5): HMAC-SHA1 over the message up to the attribute, with the header length covering it.
    /// </summary>
    public bool HasValidIntegrity(ReadOnlySpan<byte> password)
    {
        if (IntegrityOffset < 0)
        {
            return false;
        }

        // The datagram is at most what the relay's receive buffer holds, so the signed prefix fits here.
        Span<byte> signed = stackalloc byte[IntegrityOffset];
        Datagram[..IntegrityOffset].CopyTo(signed);
        BinaryPrimitives.WriteUInt16BigEndian(signed[2..], (ushort)(IntegrityOffset + 4 + MessageIntegrityLength - HeaderLength));
        Span<byte> mac = stackalloc byte[MessageIntegrityLength];
        HmacSha1.HashData(password, signed, mac);
        return CryptographicOperations.FixedTimeEquals(mac, Datagram.Slice(IntegrityOffset + 4, MessageIntegrityLength));
    }
}
