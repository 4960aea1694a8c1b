using System.Buffers.Binary;
using System.Text;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

public class StunBindingRequestTests
{
    [Fact]
    public void Crc32_Rfc5769Request_GivesItsFingerprint()
    {
        // RFC 5769 section 2.1: FINGERPRINT is the last attribute, CRC-32 of everything before it XOR 0x5354554E.
        var request = StunMessageTests.Rfc5769Request;
        var expected = BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(request.Length - 4));
        Assert.Equal(expected, StunBindingRequest.Crc32(request.AsSpan(0, request.Length - 8)) ^ 0x5354554Eu);
    }

    [Fact]
    public void Create_ParsesAsSignedNominatingRequest_WithValidFingerprint()
    {
        Span<byte> transaction = stackalloc byte[StunMessage.TransactionIdLength];
        var request = StunBindingRequest.Create("answer:offer", "origin-password"u8, transaction);

        Assert.True(StunMessage.TryParse(request, out var message));
        Assert.True(message.IsBindingRequest);
        Assert.True(message.HasUseCandidate);
        Assert.Equal("answer:offer", Encoding.ASCII.GetString(message.Username));
        Assert.True(message.HasValidIntegrity("origin-password"u8));
        Assert.False(message.HasValidIntegrity("another"u8));
        Assert.True(message.TransactionId.SequenceEqual(transaction));

        // FINGERPRINT (0x8028) closes the message and matches its CRC.
        Assert.Equal(0x8028, BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(request.Length - 8)));
        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(request.AsSpan(request.Length - 4)),
            StunBindingRequest.Crc32(request.AsSpan(0, request.Length - 8)) ^ 0x5354554Eu);
    }

    [Fact]
    public void Create_TwoRequests_DifferentTransactions()
    {
        Span<byte> first = stackalloc byte[StunMessage.TransactionIdLength];
        Span<byte> second = stackalloc byte[StunMessage.TransactionIdLength];
        StunBindingRequest.Create("a:b", "p"u8, first);
        StunBindingRequest.Create("a:b", "p"u8, second);
        Assert.False(first.SequenceEqual(second));
    }
}
