namespace SrsProxy.Rtmp;

/// <summary>
/// One RTMP message (RTMP specification section 5.4 and 6.1). <see cref="Payload"/> points into the reader's
/// buffer and is valid until the next read.
/// </summary>
internal readonly record struct RtmpMessage(byte TypeId, uint Timestamp, uint StreamId, ReadOnlyMemory<byte> Payload)
{
    public const byte SetChunkSize = 1, Abort = 2, Acknowledgement = 3, UserControl = 4, WindowAckSize = 5, SetPeerBandwidth = 6,
        Audio = 8, Video = 9, DataAmf3 = 15, CommandAmf3 = 17, DataAmf0 = 18, CommandAmf0 = 20, Aggregate = 22;

    /// <summary>The conventional chunk stream for a message type: control 2, commands 3, audio 4, video 6, data 5.</summary>
    public static int ChunkStreamFor(byte typeId) => typeId switch
    {
        SetChunkSize or Abort or Acknowledgement or UserControl or WindowAckSize or SetPeerBandwidth => 2,
        CommandAmf0 or CommandAmf3 => 3,
        Audio => 4,
        Video => 6,
        _ => 5,
    };
}
