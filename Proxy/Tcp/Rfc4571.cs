using System.Buffers.Binary;

namespace SrsProxy.Tcp;

/// <summary>
/// RFC 4571 section 2 framing, which ICE-TCP uses (RFC 6544 section 3): each packet on the stream is preceded by
/// its length as a 16-bit unsigned integer in network order. A view over unread bytes; never throws, never
/// reads past them.
/// </summary>
internal static class Rfc4571
{
    public const int HeaderLength = 2;

    /// <summary>
    /// Looks at the frame at the start of <paramref name="buffer"/>. <paramref name="payloadLength"/> is the length
    /// field whenever two bytes are there (for <see cref="FrameStatus.Complete"/>, the payload starts at
    /// <see cref="HeaderLength"/>). A length over <paramref name="maxPayload"/> is <see cref="FrameStatus.TooLong"/>
    /// as soon as the header is read, so a hostile length never makes the reader wait for, or buffer, its bytes.
    /// </summary>
    public static FrameStatus TryReadFrame(ReadOnlySpan<byte> buffer, int maxPayload, out int payloadLength)
    {
        payloadLength = 0;
        if (buffer.Length < HeaderLength)
        {
            return FrameStatus.Incomplete;
        }

        payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer);
        if (payloadLength == 0)
        {
            return FrameStatus.Empty;
        }

        if (payloadLength > maxPayload)
        {
            return FrameStatus.TooLong;
        }

        return buffer.Length - HeaderLength >= payloadLength ? FrameStatus.Complete : FrameStatus.Incomplete;
    }

    /// <summary>Writes the two length bytes of a frame of <paramref name="payloadLength"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int payloadLength) =>
        BinaryPrimitives.WriteUInt16BigEndian(destination, checked((ushort)payloadLength));
}
