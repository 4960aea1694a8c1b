using System.Buffers.Binary;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// A client's RTMP chunk stream after the handshake (<see cref="RtmpChunkReader"/>), read as the session does:
/// Set Chunk Size applied between messages, command messages decoded as AMF0. Only
/// <see cref="RtmpProtocolException"/> may escape; every message is within the size cap and made of bytes
/// that were read; and each message written again by <see cref="RtmpChunkWriter"/> reads back the same.
/// </summary>
internal sealed class RtmpChunkTarget : IFuzzTarget
{
    private const int MaxMessageSize = 64 * 1024;

    public string Name => "rtmp-chunks";

    public string Description => "RtmpChunkReader (+ Set Chunk Size, AMF0 commands): caps hold, writer/reader round trip";

    public void Run(byte[] input)
    {
        using var reader = new RtmpChunkReader(new MemoryStream(input)) { MaxMessageSize = MaxMessageSize };
        var messages = 0;
        long payloadBytes = 0;
        try
        {
            while (reader.ReadAsync(default).AsTask().GetAwaiter().GetResult() is { } message)
            {
                messages++;
                var payload = message.Payload;
                payloadBytes += payload.Length;
                Check.That(payload.Length <= MaxMessageSize, "message within the size cap");
                Check.That(messages <= input.Length, "every message costs at least a byte");
                Check.That(payloadBytes <= reader.BytesRead && reader.BytesRead <= input.Length, "payloads are bytes that were read");
                switch (message.TypeId)
                {
                    case RtmpMessage.SetChunkSize when payload.Length >= 4:
                        reader.SetChunkSize(BinaryPrimitives.ReadInt32BigEndian(payload.Span) & 0x7FFFFFFF);
                        break;
                    case RtmpMessage.CommandAmf0 or RtmpMessage.DataAmf0:
                        _ = Amf0.TryDecodeAll(payload.Span, out _);
                        break;
                }

                CheckRoundTrip(message);
            }

            Check.Equal((long)input.Length, reader.BytesRead, "a clean end comes after every byte");
        }
        catch (RtmpProtocolException)
        {
        }
    }

    private static void CheckRoundTrip(RtmpMessage message)
    {
        var wire = new MemoryStream();
        using (var writer = new RtmpChunkWriter(wire))
        {
            writer.WriteAsync(message.TypeId, message.Timestamp, message.StreamId, message.Payload, default).AsTask().GetAwaiter().GetResult();
        }

        using var reader = new RtmpChunkReader(new MemoryStream(wire.ToArray())) { MaxMessageSize = MaxMessageSize };
        var again = reader.ReadAsync(default).AsTask().GetAwaiter().GetResult();
        Check.That(again is not null, "a written message reads back");
        Check.Equal((message.TypeId, message.Timestamp, message.StreamId), (again.Value.TypeId, again.Value.Timestamp, again.Value.StreamId), "type, timestamp, stream after write and read");
        Check.That(message.Payload.Span.SequenceEqual(again.Value.Payload.Span), "payload after write and read");
    }
}
