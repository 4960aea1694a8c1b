namespace SrsProxy.Streams;

/// <summary>
/// Reads the stream from an SRT stream id as SRS does: the access-control form
/// <c>#!::r=live/livestream,m=publish</c> (keys <c>r</c> resource and <c>h</c> host; a resource without an
/// app means app <c>live</c>), or the plain <c>live/livestream</c> form, optionally with <c>?vhost=</c>.
/// </summary>
internal static class SrtStreamId
{
    public static bool TryParse(string? streamId, out StreamUrl url, out bool publish)
    {
        url = default;
        publish = false;
        if (string.IsNullOrWhiteSpace(streamId))
        {
            return false;
        }

        string? resource;
        string? host = null;
        if (streamId.StartsWith("#!::", StringComparison.Ordinal))
        {
            var pairs = streamId[4..].Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=', 2))
                .Where(p => p.Length == 2)
                .GroupBy(p => p[0].Trim())
                .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.Ordinal);
            resource = pairs.GetValueOrDefault("r");
            host = pairs.GetValueOrDefault("h");
            publish = pairs.GetValueOrDefault("m") == "publish";
        }
        else
        {
            resource = streamId;
        }

        if (string.IsNullOrEmpty(resource))
        {
            return false;
        }

        string? vhost = null;
        var query = resource.IndexOf('?');
        if (query >= 0)
        {
            vhost = System.Web.HttpUtility.ParseQueryString(resource[query..])["vhost"];
            resource = resource[..query];
        }

        if (!resource.Contains('/'))
        {
            resource = "live/" + resource;
        }

        return StreamUrl.TryCreate(host, "/" + resource.Trim('/'), null, null, vhost ?? host, out url);
    }
}
