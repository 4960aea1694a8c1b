using System.Net;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// An origin's answer as the proxy rewrites it for the player: every UDP candidate pointed at the proxy, the
/// others dropped, duplicates offered once, the first UDP candidate kept as the relay target. Checked with
/// and without a configured candidate address.
/// </summary>
internal sealed class SdpAnswerTarget : IFuzzTarget
{
    private const int ProxyPort = 8000;
    private static readonly IPAddress Candidate = IPAddress.Parse("203.0.113.10");
    private static readonly IPAddress Fallback = IPAddress.Parse("192.0.2.7");

    public string Name => "sdp-answer";

    public string Description => "SdpRewriter.RewriteAnswer + TryResolveRelayTarget: candidates at the proxy, rest kept, idempotent";

    public void Run(byte[] input)
    {
        var answer = Inputs.Text(input);
        SdpChecks.CheckFirstAttribute(answer, "ice-ufrag");
        SdpChecks.CheckFirstAttribute(answer, "ice-pwd");
        CheckRewrite(answer, Candidate, null);
        CheckRewrite(answer, null, Fallback);
        CheckRewrite(answer, null, null);
    }

    internal static AnswerRewrite CheckRewrite(string answer, IPAddress? candidateAddress, IPAddress? fallback)
    {
        var rewrite = SdpRewriter.RewriteAnswer(answer, ProxyPort, candidateAddress, fallback);
        var output = rewrite.Sdp;
        var candidates = SdpLines.Split(answer).Where(l => SdpChecks.IsCandidate(l.Line)).Select(l => l.Line).ToList();
        var udp = candidates.Select(l => SdpCandidate.TryParse(l, out var c) && c.IsUdp ? c : (SdpCandidate?)null).Where(c => c is not null).ToList();

        Check.Equal(SdpChecks.OtherLines(answer), SdpChecks.OtherLines(output), "the answer's other lines");
        Check.Equal(udp.FirstOrDefault(), rewrite.OriginCandidate, "relay target is the first UDP candidate");

        var written = SdpLines.Split(output).Where(l => SdpChecks.IsCandidate(l.Line)).Select(l => l.Line).ToList();
        Check.Equal(written.Count, written.Distinct(StringComparer.Ordinal).Count(), "each proxy candidate is offered once");
        Check.That(written.Count <= udp.Count, "no more candidates than the origin's UDP ones");
        Check.That(output.Length <= answer.Length + 32 * written.Count, "rewritten answer stays about the answer's size");
        foreach (var line in written)
        {
            Check.That(SdpCandidate.TryParse(line, out var c) && c.IsUdp, "every written candidate parses and is UDP");
            Check.Equal(ProxyPort, c.Port, "written candidate port");
            if (candidateAddress is not null)
            {
                Check.Equal(candidateAddress.ToString(), c.Address, "written candidate address");
            }
        }

        // What the proxy hands the player is already pointed at the proxy: rewriting it again changes nothing.
        var again = SdpRewriter.RewriteAnswer(output, ProxyPort, candidateAddress, fallback);
        Check.Equal(output, again.Sdp, "rewriting a rewritten answer");

        if (rewrite.OriginCandidate is { } target && SdpRewriter.TryResolveRelayTarget(target, "10.0.0.5", out var host, out var port))
        {
            Check.That(port is > 0 and <= 65535, "relay target port");
            Check.That(host == target.Address || host == "10.0.0.5", "relay target is the candidate or the registered address");
        }

        return rewrite;
    }
}
