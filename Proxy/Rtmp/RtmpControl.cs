using System.Buffers.Binary;

namespace SrsProxy.Rtmp;

/// <summary>Messages the proxy writes itself on a hop: protocol control, commands and status events.</summary>
internal static class RtmpControl
{
    /// <summary>A protocol control message with one 32-bit value (window size, acknowledgement).</summary>
    public static async ValueTask SendAsync(RtmpChunkWriter writer, byte typeId, int value, CancellationToken cancellationToken)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, value);
        await writer.WriteAsync(typeId, 0, 0, payload, cancellationToken);
    }

    public static ValueTask SendCommandAsync(RtmpChunkWriter writer, uint streamId, CancellationToken cancellationToken, params object?[] values) =>
        writer.WriteAsync(RtmpMessage.CommandAmf0, 0, streamId, Amf0.Encode(values), cancellationToken);

    public static ValueTask SendStatusAsync(RtmpChunkWriter writer, uint streamId, string level, string code, string description, CancellationToken cancellationToken) =>
        SendCommandAsync(writer, streamId, cancellationToken, "onStatus", 0.0, null,
            new Dictionary<string, object?> { ["level"] = level, ["code"] = code, ["description"] = description });
}
