namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// An origin's HLS playlist as the HTTP streaming proxy rewrites it (<see cref="HttpStreamProxy.RewritePlaylist"/>):
/// each <c>.ts</c> segment URI gets <c>spbhid=ID</c>, every other line and every line ending stays as it was.
/// </summary>
internal sealed class PlaylistTarget : IFuzzTarget
{
    /// <summary>An id as <see cref="HttpStreamProxy.HlsIdOf"/> makes them: 16 hex digits.</summary>
    private const string Id = "3f2a9c01d4e5b687";

    public string Name => "m3u8";

    public string Description => "HttpStreamProxy.RewritePlaylist: segment URIs tagged, other lines and endings kept";

    public void Run(byte[] input)
    {
        var playlist = Inputs.Text(input);
        var rewritten = HttpStreamProxy.RewritePlaylist(playlist, Id);
        var before = SdpLines.Split(playlist).ToList();
        var after = SdpLines.Split(rewritten).ToList();
        Check.Equal(before.Count, after.Count, "line count");
        var tag = "spbhid=" + Id;
        for (var i = 0; i < before.Count; i++)
        {
            var (line, ending) = before[i];
            var (output, outputEnding) = after[i];
            Check.Equal(ending, outputEnding, $"line {i} ending");
            if (output == line)
            {
                continue;
            }

            var uri = line.Trim();
            Check.That(!uri.StartsWith('#') && uri.Split('?')[0].EndsWith(".ts", StringComparison.OrdinalIgnoreCase), $"line {i} changed but is no segment URI");
            Check.Equal(uri + (uri.Contains('?') ? '&' : '?') + tag, output, $"segment URI of line {i}");
        }

        Check.That(rewritten.Length <= playlist.Length + (tag.Length + 1) * before.Count, "rewritten playlist bounded");
    }
}
