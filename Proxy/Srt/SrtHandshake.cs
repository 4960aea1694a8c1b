using System.Buffers.Binary;
using System.Text;

namespace SrsProxy.Srt;

/// <summary>
/// The parts of an SRT handshake control packet (SRT RFC draft, sections 3.2.1) the proxy reads and edits:
/// header (16 bytes), handshake body (48 bytes), then extensions, of which the stream id (type 5) names
/// the stream. Parsing never throws and never reads past the datagram.
/// </summary>
internal readonly ref struct SrtHandshake
{
    public const int HeaderLength = 16;
    public const int BodyLength = 48;
    public const uint TypeInduction = 1;
    public const uint TypeConclusion = 0xFFFFFFFF;
    public const ushort ExtensionStreamId = 5;

    /// <summary>
    /// Offsets in the handshake body: version 0, encryption 4, extension field 6, initial sequence 8, MTU 12,
    /// flow window 16, handshake type 20, SRT socket id 24, SYN cookie 28, peer IP 32..47.
    /// </summary>
    public const int TypeOffset = 20, SocketIdOffset = 24, CookieOffset = 28;

    /// <summary>Longest stream id SRT allows (512 bytes).</summary>
    public const int MaxStreamIdLength = 512;

    private SrtHandshake(ReadOnlySpan<byte> packet, string? streamId)
    {
        Packet = packet;
        StreamId = streamId;
    }

    public ReadOnlySpan<byte> Packet { get; }

    public uint Type => BinaryPrimitives.ReadUInt32BigEndian(Packet[(HeaderLength + TypeOffset)..]);

    public uint Cookie => BinaryPrimitives.ReadUInt32BigEndian(Packet[(HeaderLength + CookieOffset)..]);

    /// <summary>The stream id extension's text, or null when the packet has none.</summary>
    public string? StreamId { get; }

    /// <summary>The destination socket id every SRT packet carries in bytes 12..15.</summary>
    public static uint DestinationSocketId(ReadOnlySpan<byte> packet) => BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);

    public static bool TryParse(ReadOnlySpan<byte> packet, out SrtHandshake handshake)
    {
        handshake = default;
        if (packet.Length < HeaderLength + BodyLength || BinaryPrimitives.ReadUInt16BigEndian(packet) != 0x8000)
        {
            return false;
        }

        string? streamId = null;
        var version = BinaryPrimitives.ReadUInt32BigEndian(packet[HeaderLength..]);
        var offset = HeaderLength + BodyLength;
        if (version >= 5)
        {
            // Extensions: type (2), length in 32-bit words (2), content.
            while (packet.Length - offset >= 4)
            {
                var type = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
                var words = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
                var length = words * 4;
                if (length > packet.Length - offset - 4)
                {
                    return false;
                }

                if (type == ExtensionStreamId)
                {
                    if (length > MaxStreamIdLength)
                    {
                        return false;
                    }

                    streamId = DecodeStreamId(packet.Slice(offset + 4, length));
                }

                offset += 4 + length;
            }
        }

        handshake = new SrtHandshake(packet, streamId);
        return true;
    }

    /// <summary>
    /// The stream id travels in 32-bit words whose bytes are reversed (libsrt converts each word to network
    /// order), padded with zero bytes.
    /// </summary>
    internal static string DecodeStreamId(ReadOnlySpan<byte> content)
    {
        Span<byte> text = stackalloc byte[content.Length];
        for (var i = 0; i + 3 < content.Length; i += 4)
        {
            text[i] = content[i + 3];
            text[i + 1] = content[i + 2];
            text[i + 2] = content[i + 1];
            text[i + 3] = content[i];
        }

        var end = text.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? text : text[..end]);
    }
}
