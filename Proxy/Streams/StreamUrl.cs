using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Streams;

/// <summary>
/// The identity of a stream, shared by every protocol: <c>vhost/app/stream</c>, e.g.
/// <c>__defaultVhost__/live/livestream</c>. Publishers and players of one key meet on one origin.
/// </summary>
internal readonly record struct StreamUrl(string Vhost, string App, string Stream)
{
    public const string DefaultVhost = "__defaultVhost__";

    /// <summary>Longest app or stream name accepted; SRS's own names are far shorter.</summary>
    public const int MaxNameLength = 256;

    public string Key => $"{Vhost}/{App}/{Stream}";

    public override string ToString() => Key;

    /// <summary>
    /// SRS's vhost rule: a host with no dot, or an IPv4 address, is the default vhost; the port never counts.
    /// </summary>
    public static string VhostOf(string? host)
    {
        if (string.IsNullOrEmpty(host))
        {
            return DefaultVhost;
        }

        var name = host;
        if (name.StartsWith('['))
        {
            // [::1]:1985: an IPv6 literal, never a vhost name.
            return DefaultVhost;
        }

        var colon = name.IndexOf(':');
        if (colon >= 0)
        {
            name = name[..colon];
        }

        if (name.Length == 0 || !name.Contains('.') ||
            (IPAddress.TryParse(name, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork))
        {
            return DefaultVhost;
        }

        return name.ToLowerInvariant();
    }

    /// <summary>
    /// Builds the key of a request: app and stream from the query when both are present, else from the path
    /// (its last two segments, extension removed: <c>/live/livestream.flv</c> is <c>live/livestream</c>).
    /// An explicit <c>vhost</c> query parameter wins over the host, as in SRS.
    /// </summary>
    public static bool TryCreate(string? host, string path, string? queryApp, string? queryStream, string? queryVhost, out StreamUrl url)
    {
        url = default;
        string app;
        string stream;
        if (!string.IsNullOrEmpty(queryApp) && !string.IsNullOrEmpty(queryStream))
        {
            app = queryApp.Trim('/');
            stream = queryStream.Trim('/');
        }
        else
        {
            var trimmed = path.Trim('/');
            var slash = trimmed.LastIndexOf('/');
            if (slash <= 0)
            {
                return false;
            }

            // "/live//livestream" is the stream of "/live/livestream", as the query form ?app=live/ is.
            app = trimmed[..slash].TrimEnd('/');
            stream = trimmed[(slash + 1)..];
            var dot = stream.LastIndexOf('.');
            if (dot > 0)
            {
                stream = stream[..dot];
            }
        }

        if (!IsValidName(app) || !IsValidName(stream))
        {
            return false;
        }

        url = new StreamUrl(string.IsNullOrEmpty(queryVhost) ? VhostOf(host) : VhostOf(queryVhost), app, stream);
        return true;
    }

    /// <summary>
    /// Parses a URL such as <c>webrtc://host/live/livestream</c> or <c>rtmp://host:1935/live/livestream</c>
    /// (the <c>streamurl</c> of SRS's JSON API), honouring a <c>?vhost=</c> parameter.
    /// </summary>
    public static bool TryParseUrl(string? text, out StreamUrl url)
    {
        url = default;
        if (string.IsNullOrWhiteSpace(text) || !Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return false;
        }

        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        return TryCreate(uri.Authority, uri.AbsolutePath, query["app"], query["stream"], query["vhost"], out url);
    }

    private static bool IsValidName(string name) =>
        name.Length is > 0 and <= MaxNameLength &&
        !name.Contains("..", StringComparison.Ordinal) &&
        name.All(c => c > ' ' && c != '?' && c != '#' && c != '\\' && c < 0x7f);
}
