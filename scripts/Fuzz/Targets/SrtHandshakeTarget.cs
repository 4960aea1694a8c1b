using System.Text;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// An SRT handshake datagram (<see cref="SrtHandshake.TryParse"/>) as the SRT relay reads every packet from a
/// new caller, and the stream id extension in it. The stream id is within SRT's 512 bytes, has no NUL, and
/// encodes to the same text; a stream id that names a stream gives a valid stream key.
/// </summary>
internal sealed class SrtHandshakeTarget : IFuzzTarget
{
    public string Name => "srt-handshake";

    public string Description => "SrtHandshake.TryParse + stream id: bounds, stream id encode/decode round trip";

    public void Run(byte[] input)
    {
        if (input.Length >= SrtHandshake.HeaderLength)
        {
            _ = SrtHandshake.DestinationSocketId(input);
        }

        if (!SrtHandshake.TryParse(input, out var handshake))
        {
            return;
        }

        Check.That(input.Length >= SrtHandshake.HeaderLength + SrtHandshake.BodyLength, "a handshake has its header and body");
        _ = (handshake.Type, handshake.Cookie);
        if (handshake.StreamId is not { } streamId)
        {
            return;
        }

        Check.That(Encoding.UTF8.GetByteCount(streamId) <= 3 * SrtHandshake.MaxStreamIdLength, "stream id within 512 bytes (each may become a replacement character)");
        Check.That(!streamId.Contains('\0'), "stream id ends at its first NUL");
        var encoded = SrsProxy.Tests.Common.SrtStreamIdEncoding.Encode(streamId);
        Check.Equal(0, encoded.Length % 4, "encoded stream id is whole words");
        Check.Equal(streamId, SrtHandshake.DecodeStreamId(encoded), "stream id after encode and decode");
        SrtStreamIdTarget.CheckStreamId(streamId);
    }
}
