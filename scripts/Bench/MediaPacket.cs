using System.Buffers.Binary;

namespace SrsProxy.Bench;

/// <summary>
/// The benchmark's media and feedback datagrams: an RTP (or RTCP) header so a relay classes them as media
/// (first byte 0x80, RFC 7983), then what the receiver measures with. The relay carries bytes; nothing is
/// encrypted. Layout after the 12-byte header: sequence (u64), send timestamp (Stopwatch ticks, i64; the
/// origin and the players share one process and so one clock), phase (u8).
/// </summary>
internal static class MediaPacket
{
    public const int MinSize = 32;

    /// <summary>RTP version 2, no padding, no extension, no CSRC.</summary>
    public const byte FirstByte = 0x80;

    /// <summary>A dynamic payload type, as SRS uses for H.264.</summary>
    public const byte MediaPayloadType = 96;

    /// <summary>RTCP transport-layer feedback (RFC 4585), the type of TWCC feedback; 200-206 is RTCP.</summary>
    public const byte FeedbackPacketType = 205;

    private const int SequenceOffset = 12;
    private const int TimestampOffset = 20;
    private const int PhaseOffset = 28;

    /// <summary>Writes the header and the fields; the rest of the buffer is the payload as it is.</summary>
    public static void WriteMedia(Span<byte> packet, uint ssrc, ulong sequence, long timestamp, RunPhase phase)
    {
        packet[0] = FirstByte;
        packet[1] = MediaPayloadType;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)sequence);
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], (uint)(sequence * 3000));
        BinaryPrimitives.WriteUInt32BigEndian(packet[8..], ssrc);
        WriteFields(packet, sequence, timestamp, phase);
    }

    public static void WriteFeedback(Span<byte> packet, uint ssrc, ulong sequence, long timestamp, RunPhase phase)
    {
        packet[0] = FirstByte | 15;
        packet[1] = FeedbackPacketType;
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)(packet.Length / 4 - 1));
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(packet[8..], ssrc ^ 0x5A5A5A5A);
        WriteFields(packet, sequence, timestamp, phase);
    }

    public static bool TryRead(ReadOnlySpan<byte> packet, out ulong sequence, out long timestamp, out RunPhase phase)
    {
        if (packet.Length < MinSize || (packet[0] & 0xC0) != FirstByte)
        {
            sequence = 0;
            timestamp = 0;
            phase = RunPhase.Warmup;
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt64LittleEndian(packet[SequenceOffset..]);
        timestamp = BinaryPrimitives.ReadInt64LittleEndian(packet[TimestampOffset..]);
        phase = (RunPhase)packet[PhaseOffset];
        return true;
    }

    private static void WriteFields(Span<byte> packet, ulong sequence, long timestamp, RunPhase phase)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(packet[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(packet[TimestampOffset..], timestamp);
        packet[PhaseOffset] = (byte)phase;
    }
}

/// <summary>Which part of a mode's run a datagram was sent in; only <see cref="Steady"/> ones are measured.</summary>
internal enum RunPhase : byte
{
    Warmup = 0,
    Steady = 1,
    Drain = 2,
}
