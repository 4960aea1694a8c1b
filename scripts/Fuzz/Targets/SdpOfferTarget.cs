namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// A player's offer as WHIP/WHEP and the JSON API take it: the SDP check, the ICE username fragment, and the
/// offer without the player's candidates that goes to the origin.
/// </summary>
internal sealed class SdpOfferTarget : IFuzzTarget
{
    public string Name => "sdp-offer";

    public string Description => "SdpLines + SdpRewriter.StripCandidates on an offer: other lines kept, idempotent";

    public void Run(byte[] input)
    {
        var offer = Inputs.Text(input);
        _ = SdpLines.LooksLikeSdp(offer);
        SdpChecks.CheckFirstAttribute(offer, "ice-ufrag");
        SdpChecks.CheckStrip(offer);
        foreach (var (line, _) in SdpLines.Split(offer))
        {
            SdpChecks.CheckCandidateRoundTrip(line);
        }
    }
}
