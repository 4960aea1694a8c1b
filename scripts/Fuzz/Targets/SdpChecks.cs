namespace SrsProxy.Fuzz.Targets;

/// <summary>What every SDP edit of the proxy must keep: the lines it does not touch, in order, byte for byte.</summary>
internal static class SdpChecks
{
    public const string CandidatePrefix = "a=candidate:";

    public static bool IsCandidate(string line) => line.StartsWith(CandidatePrefix, StringComparison.Ordinal);

    /// <summary>The text without its candidate lines, each other line with its own ending.</summary>
    public static string OtherLines(string sdp) =>
        string.Concat(SdpLines.Split(sdp).Where(l => !IsCandidate(l.Line)).Select(l => l.Line + l.Ending));

    /// <summary>
    /// Checks <see cref="SdpRewriter.StripCandidates"/> on one text: no candidate is left, every other line is
    /// kept as it was, and stripping again changes nothing.
    /// </summary>
    public static string CheckStrip(string sdp)
    {
        var stripped = SdpRewriter.StripCandidates(sdp);
        Check.That(stripped.Length <= sdp.Length, "stripping never adds text");
        Check.Equal(OtherLines(sdp), stripped, "the offer less its candidate lines");
        Check.Equal(0, Inputs.CountLines(stripped, IsCandidate), "candidate lines left");
        Check.Equal(stripped, SdpRewriter.StripCandidates(stripped), "stripping twice");
        return stripped;
    }

    /// <summary>
    /// Checks <see cref="SdpLines.FirstAttribute"/>: the value is trimmed and comes from the first line that
    /// names the attribute.
    /// </summary>
    public static string? CheckFirstAttribute(string sdp, string name)
    {
        var value = SdpLines.FirstAttribute(sdp, name);
        var prefix = "a=" + name + ":";
        var first = SdpLines.Split(sdp).Select(l => l.Line).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Check.Equal(first?[prefix.Length..].Trim(), value, $"a={name} value");
        return value;
    }

    /// <summary>
    /// Checks <see cref="SdpCandidate"/>: a parsed candidate prints as a line that parses back to itself, and
    /// that line is no longer than the one read, but for the spaces it evens out.
    /// </summary>
    public static void CheckCandidateRoundTrip(string line)
    {
        if (!SdpCandidate.TryParse(line, out var candidate))
        {
            return;
        }

        Check.That(candidate.Port is >= 0 and <= 65535, "candidate port is a port");
        var printed = candidate.ToLine();
        Check.That(printed.Length <= line.Length, "a candidate prints no longer than it was read");
        Check.That(SdpCandidate.TryParse(printed, out var reparsed), "a printed candidate parses");
        Check.Equal(candidate, reparsed, "candidate after print and parse");
    }
}
