using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SrsProxy.WebRtc.Sdp;

/// <summary>
/// The two SDP edits the proxy makes: the player's offer loses its candidates (so the origin can reach the
/// player only through the proxy), and the origin's answer has its UDP candidates pointed at the proxy.
/// </summary>
internal static class SdpRewriter
{
    /// <summary>
    /// Removes every <c>a=candidate</c> line (offer or trickle fragment). <c>a=end-of-candidates</c> stays:
    /// gathering is still complete, with nothing to try but the answerer's own candidates.
    /// </summary>
    public static string StripCandidates(string sdp)
    {
        var result = new StringBuilder(sdp.Length);
        foreach (var (line, ending) in SdpLines.Split(sdp))
        {
            if (line.StartsWith("a=candidate:", StringComparison.Ordinal))
            {
                continue;
            }

            result.Append(line).Append(ending);
        }

        return result.ToString();
    }

    /// <summary>
    /// Priority of the proxy's passive TCP candidate when the UDP one's is the usual host maximum: RFC 8445
    /// section 5.1.2.1 with type preference 126 (host) and the local preference RFC 6544 section 4.2 gives a
    /// passive host candidate (direction preference 4, other preference 8191), so below every UDP host candidate.
    /// </summary>
    internal const uint TcpPassivePriority = (126u << 24) + ((((4u << 13) + 8191u)) << 8) + 255u;

    /// <summary>
    /// Points the answer's UDP candidates at the proxy: each gets <paramref name="proxyPort"/>, and
    /// <paramref name="proxyAddress"/> when one is given (else it keeps the origin's address, as the reference
    /// does, unless that is a wildcard). The origin's own candidates for other transports (TCP) are removed: they
    /// would lead the player around the proxy. With <paramref name="tcpPort"/>, each UDP candidate is followed by
    /// the proxy's own passive TCP candidate at the same address (ICE-TCP, RFC 6544 section 4.5), with a lower
    /// priority so that ICE prefers UDP wherever it works. The first UDP candidate, as the origin wrote it, is
    /// returned as the relay target.
    /// </summary>
    public static AnswerRewrite RewriteAnswer(string sdp, int proxyPort, IPAddress? proxyAddress, IPAddress? fallbackAddress, int? tcpPort = null)
    {
        var result = new StringBuilder(sdp.Length + 64);
        SdpCandidate? target = null;
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, ending) in SdpLines.Split(sdp))
        {
            if (!line.StartsWith("a=candidate:", StringComparison.Ordinal))
            {
                result.Append(line).Append(ending);
                continue;
            }

            if (!SdpCandidate.TryParse(line, out var candidate) || !candidate.IsUdp)
            {
                continue;
            }

            target ??= candidate;
            var address = proxyAddress?.ToString() ?? candidate.Address;
            if (proxyAddress is null && IsWildcard(candidate.Address) && fallbackAddress is not null)
            {
                address = fallbackAddress.ToString();
            }

            var newLine = (candidate with { Address = address, Port = proxyPort }).ToLine();

            // Two origin candidates may collapse into one proxy candidate; offer it once.
            if (written.Add(newLine))
            {
                result.Append(newLine).Append(ending);
            }

            if (tcpPort is { } port && TcpCandidateFor(candidate, address, port).ToLine() is var tcpLine && written.Add(tcpLine))
            {
                result.Append(tcpLine).Append(ending);
            }
        }

        return new AnswerRewrite(result.ToString(), target);
    }

    /// <summary>
    /// The proxy's passive TCP candidate beside a UDP one: the same component and address, its own foundation (a
    /// different transport is a different foundation, RFC 8445 section 5.1.1.3), port <paramref name="port"/>, and
    /// a priority below the UDP candidate's whatever the origin gave it. The player connects to it (active), and
    /// sends its first binding request on the connection (RFC 6544 section 7.1).
    /// </summary>
    internal static SdpCandidate TcpCandidateFor(SdpCandidate udp, string address, int port)
    {
        var priority = TcpPassivePriority;
        if (uint.TryParse(udp.Priority, NumberStyles.None, CultureInfo.InvariantCulture, out var udpPriority) && udpPriority <= priority)
        {
            priority = Math.Max(1, udpPriority - 1);
        }

        // Foundations are 1 to 32 ice-chars (RFC 8839 section 5.1).
        var foundation = "tcp" + udp.Foundation;
        if (foundation.Length > 32)
        {
            foundation = foundation[..32];
        }

        return new SdpCandidate(foundation, udp.Component, "tcp", priority.ToString(CultureInfo.InvariantCulture), address, port, "host", "tcptype passive");
    }

    internal static bool IsWildcard(string address) =>
        IPAddress.TryParse(address, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));

    /// <summary>
    /// Where the relay should send a session's datagrams: the origin's candidate address when the proxy can
    /// reach it, else the origin's registered address (a wildcard, an mDNS name, or a loopback address of an
    /// origin on another host are private to the origin). The port is the candidate's.
    /// </summary>
    public static bool TryResolveRelayTarget(SdpCandidate candidate, string registeredIp, out string host, out int port)
    {
        port = candidate.Port;
        host = candidate.Address;
        if (port == 0)
        {
            return false;
        }

        var registeredIsLoopback = IPAddress.TryParse(registeredIp, out var registered) && IPAddress.IsLoopback(registered);
        if (!IPAddress.TryParse(candidate.Address, out var ip) ||
            ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ||
            (IPAddress.IsLoopback(ip) && !registeredIsLoopback) ||
            (ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.IsIPv6LinkLocal))
        {
            host = registeredIp;
        }

        return true;
    }
}

/// <summary>The rewritten answer and the origin's first UDP candidate (the relay target).</summary>
internal sealed record AnswerRewrite(string Sdp, SdpCandidate? OriginCandidate);
