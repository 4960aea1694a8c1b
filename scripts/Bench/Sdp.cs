using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace SrsProxy.Bench;

/// <summary>The SDP a WHEP player offers and an SRS origin answers, cut down to what ICE needs.</summary>
internal static class Sdp
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>A fixed DTLS fingerprint: nothing here does DTLS, but offers and answers carry one.</summary>
    private const string Fingerprint =
        "sha-256 3A:1F:55:0B:7C:2D:9E:44:81:6A:F0:13:C7:28:B9:5D:E2:4F:70:A6:1B:93:DE:08:34:CA:67:F1:5E:22:9B:0C";

    /// <summary>ICE credentials: ufrag of at least 4 characters, password of at least 22 (RFC 8839 section 5.4).</summary>
    public static string RandomToken(int length) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>A recvonly video offer, as a browser's WHEP player sends, with one host candidate.</summary>
    public static string Offer(string ufrag, string password, IPEndPoint candidate)
    {
        var sdp = new StringBuilder(1024);
        sdp.Append("v=0\r\n");
        sdp.Append("o=- ").Append(RandomNumberGenerator.GetInt32(int.MaxValue)).Append(" 2 IN IP4 127.0.0.1\r\n");
        sdp.Append("s=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n");
        sdp.Append("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
        sdp.Append("a=ice-ufrag:").Append(ufrag).Append("\r\n");
        sdp.Append("a=ice-pwd:").Append(password).Append("\r\n");
        sdp.Append("a=ice-options:trickle\r\na=fingerprint:").Append(Fingerprint).Append("\r\n");
        sdp.Append("a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n");
        sdp.Append("a=rtpmap:96 H264/90000\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n");
        sdp.Append("a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n");
        sdp.Append("a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
        sdp.Append("a=candidate:1 1 udp 2122260223 ").Append(candidate.Address).Append(' ').Append(candidate.Port).Append(" typ host generation 0\r\n");
        sdp.Append("a=end-of-candidates\r\n");
        return sdp.ToString();
    }

    /// <summary>An SRS-like ICE-lite answer: one UDP host candidate, the port every session shares.</summary>
    public static string Answer(string ufrag, string password, IPEndPoint candidate, string app, string stream)
    {
        var sdp = new StringBuilder(1024);
        sdp.Append("v=0\r\n");
        sdp.Append("o=SRS/6.0.0(Bench) ").Append(RandomNumberGenerator.GetInt32(int.MaxValue)).Append(" 2 IN IP4 0.0.0.0\r\n");
        sdp.Append("s=SRSPlaySession\r\nt=0 0\r\na=ice-lite\r\na=group:BUNDLE 0\r\n");
        sdp.Append("a=msid-semantic: WMS ").Append(app).Append('/').Append(stream).Append("\r\n");
        sdp.Append("m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n");
        sdp.Append("a=ice-ufrag:").Append(ufrag).Append("\r\n");
        sdp.Append("a=ice-pwd:").Append(password).Append("\r\n");
        sdp.Append("a=fingerprint:").Append(Fingerprint).Append("\r\n");
        sdp.Append("a=setup:passive\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n");
        sdp.Append("a=rtpmap:96 H264/90000\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n");
        sdp.Append("a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n");
        sdp.Append("a=ssrc:1000 cname:bench\r\n");
        sdp.Append("a=candidate:0 1 udp 2130706431 ").Append(candidate.Address).Append(' ').Append(candidate.Port).Append(" typ host generation 0\r\n");
        return sdp.ToString();
    }

    /// <summary>The value of the first <c>a=NAME:</c> line, or null.</summary>
    public static string? Attribute(string sdp, string name)
    {
        var prefix = "a=" + name + ":";
        foreach (var raw in sdp.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..].Trim();
            }
        }

        return null;
    }

    /// <summary>The first UDP candidate's address (foundation component transport priority address port typ ...).</summary>
    public static IPEndPoint? FirstUdpCandidate(string sdp) => FirstCandidate(sdp, "udp");

    /// <summary>The first candidate of <paramref name="transport"/> (udp, or tcp for the proxy's passive ICE-TCP one).</summary>
    public static IPEndPoint? FirstCandidate(string sdp, string transport)
    {
        foreach (var raw in sdp.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (!line.StartsWith("a=candidate:", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 6 && parts[2].Equals(transport, StringComparison.OrdinalIgnoreCase) &&
                IPAddress.TryParse(parts[4], out var address) && int.TryParse(parts[5], out var port) && port is > 0 and < 65536)
            {
                return new IPEndPoint(address, port);
            }
        }

        return null;
    }
}
