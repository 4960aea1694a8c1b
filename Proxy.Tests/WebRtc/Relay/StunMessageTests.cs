using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

public class StunMessageTests
{
    /// <summary>RFC 5769 section 2.1: sample request, USERNAME "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt".</summary>
    internal static readonly byte[] Rfc5769Request = Convert.FromHexString(
        "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063" +
        "6c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68" +
        "367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004" +
        "e57a3bcf");

    [Fact]
    public void TryParse_Rfc5769Request_ReadsUsername()
    {
        Assert.True(StunMessage.TryParse(Rfc5769Request, out var message));
        Assert.True(message.IsBindingRequest);
        Assert.Equal("evtj:h6vY", Encoding.ASCII.GetString(message.Username));
    }

    [Fact]
    public void HasValidIntegrity_Rfc5769Request_RightPasswordOnly()
    {
        Assert.True(StunMessage.TryParse(Rfc5769Request, out var message));
        Assert.True(message.HasValidIntegrity("VOkJxbRl1RmTxUk/WvJxBt"u8));
        Assert.False(message.HasValidIntegrity("wrong"u8));
    }

    [Fact]
    public void HasValidIntegrity_TamperedUsername_Fails()
    {
        var copy = (byte[])Rfc5769Request.Clone();
        copy[Array.IndexOf(copy, (byte)'e', 60)] = (byte)'f';
        Assert.True(StunMessage.TryParse(copy, out var message));
        Assert.False(message.HasValidIntegrity("VOkJxbRl1RmTxUk/WvJxBt"u8));
    }

    [Fact]
    public void HasValidIntegrity_BuiltMessage_Verifies()
    {
        var datagram = Build("remote:local", "secret-password");
        Assert.True(StunMessage.TryParse(datagram, out var message));
        Assert.Equal("remote:local", Encoding.ASCII.GetString(message.Username));
        Assert.True(message.HasValidIntegrity("secret-password"u8));
    }

    [Theory]
    [InlineData(0x0001, false)]
    [InlineData(0x0011, false)]
    [InlineData(0x0101, true)]
    [InlineData(0x0111, true)]
    public void IsResponse_ClassBits_FollowRfc8489(int type, bool response) =>
        Assert.Equal(response, StunMessage.IsResponse(Build(null, null, (ushort)type)));

    [Fact]
    public void TryParse_NoUsername_HasEmptyUsername()
    {
        var datagram = Build(null, null);
        Assert.True(StunMessage.TryParse(datagram, out var message));
        Assert.True(message.Username.IsEmpty);
        Assert.False(message.HasValidIntegrity("x"u8));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(19)]
    [InlineData(40)]
    public void TryParse_Truncated_Fails(int length) =>
        Assert.False(StunMessage.TryParse(Rfc5769Request.AsSpan(0, length), out _));

    [Fact]
    public void TryParse_LengthFieldDisagrees_Fails()
    {
        var copy = (byte[])Rfc5769Request.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(2), 0x5C);
        Assert.False(StunMessage.TryParse(copy, out _));
        BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(2), 0x57);
        Assert.False(StunMessage.TryParse(copy, out _));
    }

    [Fact]
    public void TryParse_BadCookieOrTopBits_Fails()
    {
        var copy = (byte[])Rfc5769Request.Clone();
        copy[4] = 0;
        Assert.False(StunMessage.TryParse(copy, out _));
        copy = (byte[])Rfc5769Request.Clone();
        copy[0] = 0xC0;
        Assert.False(StunMessage.TryParse(copy, out _));
    }

    [Fact]
    public void TryParse_AttributeRunsPastEnd_Fails()
    {
        var datagram = Build("a:b", null);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(StunMessage.HeaderLength + 2), 200);
        Assert.False(StunMessage.TryParse(datagram, out _));
    }

    [Fact]
    public void TryParse_OverlongUsername_Fails()
    {
        Assert.False(StunMessage.TryParse(Build(new string('u', 600), null), out _));
    }

    [Fact]
    public void TryParse_RandomBytes_NeverThrows()
    {
        var random = new Random(7);
        var buffer = new byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            buffer[0] &= 0x03;
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), StunMessage.MagicCookie);
            var length = random.Next(0, buffer.Length + 1);
            if (StunMessage.TryParse(buffer.AsSpan(0, length), out var message))
            {
                _ = message.HasValidIntegrity("k"u8);
            }
        }
    }

    /// <summary>A binding request with optional USERNAME and MESSAGE-INTEGRITY, built per RFC 8489.</summary>
    internal static byte[] Build(string? username, string? password, ushort type = StunMessage.BindingRequest)
    {
        var body = new List<byte>();
        if (username is not null)
        {
            var value = Encoding.ASCII.GetBytes(username);
            body.AddRange([0x00, 0x06, (byte)(value.Length >> 8), (byte)value.Length]);
            body.AddRange(value);
            while (body.Count % 4 != 0)
            {
                body.Add(0);
            }
        }

        var header = new byte[StunMessage.HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(header, type);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), StunMessage.MagicCookie);
        RandomNumberGenerator.Fill(header.AsSpan(8));
        if (password is null)
        {
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)body.Count);
            return [.. header, .. body];
        }

        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)(body.Count + 24));
        byte[] signed = [.. header, .. body];
        var mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(password), signed);
        return [.. signed, 0x00, 0x08, 0x00, 0x14, .. mac];
    }
}
