using SrsProxy.WebRtc.Sdp;

namespace SrsProxy.Tests.WebRtc.Sdp;

public class SdpLinesTests
{
    [Fact]
    public void FirstAttribute_FindsMediaLevelUfrag()
    {
        Assert.Equal("k7u1y3oa", SdpLines.FirstAttribute(SdpRewriterTests.SrsAnswer, "ice-ufrag"));
        Assert.Null(SdpLines.FirstAttribute("v=0\r\n", "ice-ufrag"));
    }
}
