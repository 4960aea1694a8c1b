using System.Buffers.Binary;
using SrsProxy.Srt;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Srt;

public class SrtHandshakeTests
{
    /// <summary>A caller's conclusion handshake (version 5) with a stream id extension, as libsrt sends it.</summary>
    internal static byte[] Conclusion(string streamId, uint cookie = 0x01020304, uint socketId = 0x0A0B0C0D)
    {
        var sid = SrtStreamIdEncoding.Encode(streamId);
        var packet = new byte[SrtHandshake.HeaderLength + SrtHandshake.BodyLength + 4 + sid.Length];
        BinaryPrimitives.WriteUInt16BigEndian(packet, 0x8000);
        var body = packet.AsSpan(SrtHandshake.HeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(body, 5);
        BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.TypeOffset..], SrtHandshake.TypeConclusion);
        BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.SocketIdOffset..], socketId);
        BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.CookieOffset..], cookie);
        var extension = body[SrtHandshake.BodyLength..];
        BinaryPrimitives.WriteUInt16BigEndian(extension, SrtHandshake.ExtensionStreamId);
        BinaryPrimitives.WriteUInt16BigEndian(extension[2..], (ushort)(sid.Length / 4));
        sid.CopyTo(extension[4..]);
        return packet;
    }

    [Fact]
    public void TryParse_Conclusion_ReadsStreamIdCookieAndSocket()
    {
        Assert.True(SrtHandshake.TryParse(Conclusion("#!::r=live/livestream,m=publish"), out var handshake));
        Assert.Equal(SrtHandshake.TypeConclusion, handshake.Type);
        Assert.Equal(0x01020304u, handshake.Cookie);
        Assert.Equal(0x0A0B0C0Du, BinaryPrimitives.ReadUInt32BigEndian(handshake.Packet[(SrtHandshake.HeaderLength + SrtHandshake.SocketIdOffset)..]));
        Assert.Equal("#!::r=live/livestream,m=publish", handshake.StreamId);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("abcd")]
    [InlineData("live/livestream?vhost=x.example.com")]
    public void StreamId_Encoding_RoundTrips(string text) =>
        Assert.Equal(text, SrtHandshake.DecodeStreamId(SrtStreamIdEncoding.Encode(text)));

    [Fact]
    public void TryParse_Malformed_Fails()
    {
        var packet = Conclusion("live/s");
        Assert.False(SrtHandshake.TryParse(packet.AsSpan(0, 40), out _));
        var data = (byte[])packet.Clone();
        data[0] = 0x00;
        Assert.False(SrtHandshake.TryParse(data, out _));
        var overlong = (byte[])packet.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(overlong.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.BodyLength + 2), 500);
        Assert.False(SrtHandshake.TryParse(overlong, out _));
    }
}
