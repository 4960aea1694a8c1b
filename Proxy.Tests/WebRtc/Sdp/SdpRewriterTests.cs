using System.Net;
using SrsProxy.WebRtc.Sdp;

namespace SrsProxy.Tests.WebRtc.Sdp;

public class SdpRewriterTests
{
    /// <summary>An answer as SRS writes it: ice-lite, one UDP and one TCP candidate on the same port.</summary>
    internal const string SrsAnswer =
        "v=0\r\no=SRS/6.0.0 1 2 IN IP4 0.0.0.0\r\ns=SRSPlaySession\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0\r\n" +
        "m=video 9 UDP/TLS/RTP/SAVPF 106\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:k7u1y3oa\r\na=ice-pwd:7e1c9kz2h6v7s29x0a6o4m0v5v2v90e3\r\n" +
        "a=candidate:0 1 udp 2130706431 192.168.3.187 8001 typ host generation 0\r\n" +
        "a=candidate:1 1 tcp 2130706431 192.168.3.187 8001 typ host tcptype passive generation 0\r\n" +
        "a=end-of-candidates\r\n";

    /// <summary>The candidate lines of an SDP, without their line endings.</summary>
    private static string[] Candidates(string sdp) =>
        sdp.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("a=candidate:", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void RewriteAnswer_SrsAnswer_PortIsProxysAddressStays()
    {
        var result = SdpRewriter.RewriteAnswer(SrsAnswer, 18000, null, null);
        Assert.Contains("a=candidate:0 1 udp 2130706431 192.168.3.187 18000 typ host generation 0\r\n", result.Sdp);
        Assert.DoesNotContain(" 8001 ", result.Sdp);
        Assert.DoesNotContain("tcp", result.Sdp);
        Assert.Single(Candidates(result.Sdp));
        Assert.Equal(("192.168.3.187", 8001), (result.OriginCandidate!.Value.Address, result.OriginCandidate.Value.Port));
        Assert.Contains("a=end-of-candidates\r\n", result.Sdp);
        Assert.Equal(SrsAnswer.Split("\r\n").Length - 1, result.Sdp.Split("\r\n").Length);
    }

    [Fact]
    public void RewriteAnswer_WithTcpPort_AddsProxysPassiveTcpCandidateBelowUdp_OriginsTcpStillRemoved()
    {
        var result = SdpRewriter.RewriteAnswer(SrsAnswer, 18000, IPAddress.Parse("203.0.113.7"), null, tcpPort: 18001);
        var candidates = Candidates(result.Sdp);
        Assert.Equal(2, candidates.Length);
        Assert.Equal("a=candidate:0 1 udp 2130706431 203.0.113.7 18000 typ host generation 0", candidates[0]);
        Assert.True(SdpCandidate.TryParse(candidates[1], out var tcp));
        Assert.Equal(("tcp", "203.0.113.7", 18001, "host", "tcptype passive"), (tcp.Transport, tcp.Address, tcp.Port, tcp.Type, tcp.Extensions));
        Assert.NotEqual("0", tcp.Foundation);
        Assert.True(uint.Parse(tcp.Priority, System.Globalization.CultureInfo.InvariantCulture) < 2130706431u);

        // The origin's own TCP candidate (port 8001) would lead the player around the proxy: still gone.
        Assert.DoesNotContain(" 8001 ", result.Sdp);
    }

    [Theory]
    [InlineData("2130706431", 2124414975u)]
    [InlineData("100", 99u)]
    [InlineData("1", 1u)]
    [InlineData("junk", 2124414975u)]
    public void TcpCandidateFor_AnyUdpPriority_TcpIsLower(string udpPriority, uint expected)
    {
        var udp = new SdpCandidate("f", "1", "udp", udpPriority, "10.0.0.1", 8000, "host", "");
        Assert.Equal(expected, uint.Parse(SdpRewriter.TcpCandidateFor(udp, "10.0.0.1", 8000).Priority, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void RewriteAnswer_WithProxyCandidate_ReplacesAddress()
    {
        var result = SdpRewriter.RewriteAnswer(SrsAnswer, 8000, IPAddress.Parse("203.0.113.7"), null);
        Assert.Contains(" udp 2130706431 203.0.113.7 8000 typ host", result.Sdp);
        Assert.DoesNotContain("192.168.3.187", result.Sdp);
    }

    [Fact]
    public void RewriteAnswer_LfLineEndings_ArePreserved()
    {
        var lf = SrsAnswer.Replace("\r\n", "\n");
        var result = SdpRewriter.RewriteAnswer(lf, 18000, null, null);
        Assert.DoesNotContain("\r", result.Sdp);
        Assert.Contains("192.168.3.187 18000 typ host generation 0\n", result.Sdp);
    }

    [Fact]
    public void RewriteAnswer_SeveralAndIpv6Candidates_AllPointAtProxy()
    {
        var sdp = "v=0\r\na=ice-ufrag:u\r\n" +
                  "a=candidate:1 1 UDP 100 10.1.1.1 8001 typ host\r\n" +
                  "a=candidate:2 1 udp 99 2001:db8::5 8001 typ host\r\n" +
                  "a=candidate:3 1 udp 98 198.51.100.1 40000 typ srflx raddr 10.1.1.1 rport 8001\r\n";
        var result = SdpRewriter.RewriteAnswer(sdp, 18000, null, null);
        Assert.Contains("a=candidate:1 1 UDP 100 10.1.1.1 18000 typ host\r\n", result.Sdp);
        Assert.Contains("a=candidate:2 1 udp 99 2001:db8::5 18000 typ host\r\n", result.Sdp);
        Assert.Contains("a=candidate:3 1 udp 98 198.51.100.1 18000 typ srflx raddr 10.1.1.1 rport 8001\r\n", result.Sdp);
        Assert.Equal("10.1.1.1", result.OriginCandidate!.Value.Address);
    }

    [Fact]
    public void RewriteAnswer_CandidatesCollapsing_AreWrittenOnce()
    {
        var sdp = "v=0\na=candidate:1 1 udp 100 10.1.1.1 8001 typ host\na=candidate:1 1 udp 100 10.1.1.2 8001 typ host\n";
        var result = SdpRewriter.RewriteAnswer(sdp, 9, IPAddress.Loopback, null);
        Assert.Equal(["a=candidate:1 1 udp 100 127.0.0.1 9 typ host"], Candidates(result.Sdp));
    }

    [Fact]
    public void RewriteAnswer_WildcardAddress_UsesFallback()
    {
        var sdp = "v=0\r\na=candidate:1 1 udp 100 0.0.0.0 8001 typ host\r\n";
        var result = SdpRewriter.RewriteAnswer(sdp, 18000, null, IPAddress.Loopback);
        Assert.Contains(" 127.0.0.1 18000 typ host", result.Sdp);
    }

    [Fact]
    public void RewriteAnswer_MalformedCandidate_IsRemoved()
    {
        var sdp = "v=0\r\na=candidate:garbage\r\na=candidate:1 1 udp 100 1.2.3.4 notaport typ host\r\n";
        var result = SdpRewriter.RewriteAnswer(sdp, 18000, null, null);
        Assert.Empty(Candidates(result.Sdp));
        Assert.Null(result.OriginCandidate);
        Assert.Equal("v=0\r\n", result.Sdp);
    }

    [Fact]
    public void StripCandidates_Offer_RemovesOnlyCandidates()
    {
        var offer = "v=0\r\na=ice-ufrag:abc\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
                    "a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host\r\n" +
                    "a=candidate:2 1 udp 1686052607 203.0.113.9 54321 typ srflx raddr 192.168.1.20 rport 54321\r\n" +
                    "a=candidate:3 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active\r\n" +
                    "a=end-of-candidates\r\na=mid:0\r\n";
        var stripped = SdpRewriter.StripCandidates(offer);
        Assert.Equal("v=0\r\na=ice-ufrag:abc\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=end-of-candidates\r\na=mid:0\r\n", stripped);
    }

    [Fact]
    public void StripCandidates_NoTrailingNewline_KeepsLastLine()
    {
        Assert.Equal("v=0\na=mid:0", SdpRewriter.StripCandidates("v=0\na=candidate:1 1 udp 1 1.1.1.1 1 typ host\na=mid:0"));
    }

    [Theory]
    [InlineData("192.168.3.187", "127.0.0.1", "192.168.3.187")]
    [InlineData("0.0.0.0", "127.0.0.5", "127.0.0.5")]
    [InlineData("::", "127.0.0.5", "127.0.0.5")]
    [InlineData("127.0.0.1", "10.0.0.5", "10.0.0.5")]
    [InlineData("127.0.0.1", "127.0.0.1", "127.0.0.1")]
    [InlineData("abcd-1234.local", "127.0.0.5", "127.0.0.5")]
    [InlineData("fe80::1", "127.0.0.5", "127.0.0.5")]
    public void TryResolveRelayTarget_PrivateAddresses_UseRegisteredIp(string candidateAddress, string registeredIp, string expected)
    {
        var candidate = new SdpCandidate("1", "1", "udp", "1", candidateAddress, 8001, "host", "");
        Assert.True(SdpRewriter.TryResolveRelayTarget(candidate, registeredIp, out var host, out var port));
        Assert.Equal((expected, 8001), (host, port));
    }

    [Fact]
    public void RewriteAnswer_CarriageReturnInsideCandidateLine_RemovesItInsteadOfDuplicating()
    {
        // Found by scripts/fuzz sdp-answer: the CR stayed in the last field and, before the LF, made the
        // rewritten line a copy of the first candidate (offered twice) with its line ending changed.
        var answer = "v=0\r\na=ice-ufrag:k7u1y3oa\r\n" +
            "a=candidate:0 1 udp 2130706431 192.168.3.187 8001 typ host generation 0\r\n" +
            "a=candidate:0 1 udp 2130706431 192.168.3.187 8001 typ host generation 0\r   \n";
        var result = SdpRewriter.RewriteAnswer(answer, 18000, null, null);
        Assert.Single(result.Sdp.Split('\n'), line => line.StartsWith("a=candidate:", StringComparison.Ordinal));
        Assert.False(SdpCandidate.TryParse("a=candidate:0 1 udp 1 10.0.0.1 8001 typ\thost", out _));
    }
}
