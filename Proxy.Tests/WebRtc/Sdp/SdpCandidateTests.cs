using SrsProxy.WebRtc.Sdp;

namespace SrsProxy.Tests.WebRtc.Sdp;

public class SdpCandidateTests
{
    [Theory]
    [InlineData("a=candidate:1 1 udp 100 1.2.3.4 8000 typ host", true)]
    [InlineData("a=candidate:1 1 udp 100 1.2.3.4 8000 typ", false)]
    [InlineData("a=candidate:1 1 udp 100 1.2.3.4 99999 typ host", false)]
    [InlineData("a=candidate:1 1 udp 100 1.2.3.4 8000 type host", false)]
    [InlineData("a=ice-ufrag:x", false)]
    public void SdpCandidate_TryParse_ChecksShape(string line, bool ok) => Assert.Equal(ok, SdpCandidate.TryParse(line, out _));
}
