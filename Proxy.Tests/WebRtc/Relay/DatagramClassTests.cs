using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

public class DatagramClassTests
{
    [Theory]
    [InlineData(0, "Stun")]
    [InlineData(3, "Stun")]
    [InlineData(20, "Dtls")]
    [InlineData(63, "Dtls")]
    [InlineData(128, "Rtp")]
    [InlineData(191, "Rtp")]
    [InlineData(4, "Unknown")]
    [InlineData(64, "Unknown")]
    [InlineData(255, "Unknown")]
    public void DatagramClass_FirstByte_FollowsRfc7983(byte first, string kind) => Assert.Equal(Enum.Parse<DatagramKind>(kind), DatagramClass.Of(first));
}
