namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// Trickle ICE (RFC 8840) through the proxy's PATCH: the player's <c>application/trickle-ice-sdpfrag</c> goes
/// to the origin without candidates, and an ICE restart answer (new ufrag and pwd) has its candidates pointed
/// at the proxy. Input: the player's fragment, a NUL byte, the origin's answer fragment.
/// </summary>
internal sealed class TrickleTarget : IFuzzTarget
{
    public string Name => "trickle";

    public string Description => "sdpfrag PATCH: StripCandidates on the fragment, ICE-restart answer rewrite";

    public void Run(byte[] input)
    {
        var (first, rest) = Inputs.SplitAtNul(input);
        var fragment = Inputs.Text(first);
        var answer = Inputs.Text(rest);
        SdpChecks.CheckStrip(fragment);
        var offerUfrag = SdpChecks.CheckFirstAttribute(fragment, "ice-ufrag");
        foreach (var (line, _) in SdpLines.Split(fragment))
        {
            SdpChecks.CheckCandidateRoundTrip(line);
        }

        if (SdpChecks.CheckFirstAttribute(answer, "ice-ufrag") is { Length: > 0 } &&
            SdpChecks.CheckFirstAttribute(answer, "ice-pwd") is { Length: > 0 } &&
            offerUfrag is { Length: > 0 })
        {
            SdpAnswerTarget.CheckRewrite(answer, null, System.Net.IPAddress.Loopback);
        }
    }
}
