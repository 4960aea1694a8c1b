namespace SrsProxy.WebRtc.Sdp;

/// <summary>
/// Line-level SDP editing that keeps the text's own line endings (CRLF as RFC 8866 requires, or the bare LF
/// some stacks send), so what the proxy passes on differs from what it got only in the lines it changed.
/// </summary>
internal static class SdpLines
{
    /// <summary>Enumerates (line without ending, ending) pairs.</summary>
    public static IEnumerable<(string Line, string Ending)> Split(string sdp)
    {
        var start = 0;
        while (start < sdp.Length)
        {
            var newline = sdp.IndexOf('\n', start);
            if (newline < 0)
            {
                yield return (sdp[start..], "");
                yield break;
            }

            var end = newline > start && sdp[newline - 1] == '\r' ? newline - 1 : newline;
            yield return (sdp[start..end], sdp[end..(newline + 1)]);
            start = newline + 1;
        }
    }

    /// <summary>The value of the first <c>a=name:value</c> line, at session or media level; null if none.</summary>
    public static string? FirstAttribute(string sdp, string name)
    {
        var prefix = "a=" + name + ":";
        foreach (var (line, _) in Split(sdp))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..].Trim();
            }
        }

        return null;
    }

    /// <summary>True if the text looks like an SDP session description (RFC 8866 section 5: starts with v=0).</summary>
    public static bool LooksLikeSdp(string sdp) => sdp.StartsWith("v=0", StringComparison.Ordinal);
}
