using System.Buffers.Binary;
using System.Text;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// A STUN binding request as an ICE agent in the controlling role sends it to nominate a pair (RFC 8445
/// section 7.2.2, RFC 8489): USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY signed
/// with the answerer's password, FINGERPRINT. The relay sends one to an origin on a player's behalf when it
/// takes over a session another instance relayed: the origin moves the session to the new source address
/// on a binding request (SRS: "session address change"), and would otherwise wait for the player's next
/// consent check, up to ~5 s for a browser.
/// </summary>
internal static class StunBindingRequest
{
    private const ushort AttributePriority = 0x0024;
    private const ushort AttributeIceControlling = 0x802A;
    private const ushort AttributeFingerprint = 0x8028;

    /// <summary>XOR-ed into the CRC-32 of FINGERPRINT (RFC 8489 section 14.7).</summary>
    private const uint FingerprintXor = 0x5354554E;

    /// <summary>A peer-reflexive candidate's priority (RFC 8445 section 5.1.2.1: type preference 110).</summary>
    private const uint PeerReflexivePriority = (110u << 24) | (65535u << 8) | 255u;

    private static readonly uint[] Crc32Table = BuildCrc32Table();

    /// <summary>Writes a new request into a fresh array and its transaction id into <paramref name="transactionId"/>.</summary>
    public static byte[] Create(string username, ReadOnlySpan<byte> password, Span<byte> transactionId)
    {
        var user = Encoding.UTF8.GetBytes(username);
        var userPadded = (user.Length + 3) & ~3;
        var length = StunMessage.HeaderLength + 4 + userPadded + 8 + 12 + 4 + 24 + 8;
        var message = new byte[length];
        var span = message.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, StunMessage.BindingRequest);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], StunMessage.MagicCookie);
        SecureRandom.Fill(span.Slice(8, StunMessage.TransactionIdLength));
        span.Slice(8, StunMessage.TransactionIdLength).CopyTo(transactionId);

        var offset = StunMessage.HeaderLength;
        offset = Attribute(span, offset, StunMessage.AttributeUsername, user);
        Span<byte> value = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(value, PeerReflexivePriority);
        offset = Attribute(span, offset, AttributePriority, value[..4]);
        SecureRandom.Fill(value);
        offset = Attribute(span, offset, AttributeIceControlling, value);
        offset = Attribute(span, offset, StunMessage.AttributeUseCandidate, []);

        // MESSAGE-INTEGRITY: HMAC-SHA1 over everything before it, the length field counting up to its end.
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)(offset + 24 - StunMessage.HeaderLength));
        Span<byte> mac = stackalloc byte[20];
        HmacSha1.HashData(password, span[..offset], mac);
        offset = Attribute(span, offset, StunMessage.AttributeMessageIntegrity, mac);

        // FINGERPRINT: CRC-32 over everything before it, the length field counting up to its end.
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)(offset + 8 - StunMessage.HeaderLength));
        BinaryPrimitives.WriteUInt32BigEndian(value, Crc32(span[..offset]) ^ FingerprintXor);
        Attribute(span, offset, AttributeFingerprint, value[..4]);
        return message;
    }

    private static int Attribute(Span<byte> message, int offset, ushort type, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message[offset..], type);
        BinaryPrimitives.WriteUInt16BigEndian(message[(offset + 2)..], (ushort)value.Length);
        value.CopyTo(message[(offset + 4)..]);
        return offset + 4 + ((value.Length + 3) & ~3);
    }

    /// <summary>CRC-32 of ISO 3309 / ITU-T V.42, the one FINGERPRINT names.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Crc32Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildCrc32Table()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
