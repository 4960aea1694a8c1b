namespace SrsProxy.Streams;

/// <summary>
/// The stream an RTMP client names, as SRS reads it: vhost from the tcUrl host (or a <c>vhost</c> parameter in
/// the tcUrl, app or stream name), app from <c>connect</c>, stream from <c>publish</c>/<c>play</c> without its query.
/// </summary>
internal static class RtmpStreamName
{
    public static StreamUrl? Of(string app, string tcUrl, string streamName)
    {
        string? host = null;
        string? vhost = null;
        if (Uri.TryCreate(tcUrl, UriKind.Absolute, out var uri))
        {
            host = uri.Authority;
            vhost = System.Web.HttpUtility.ParseQueryString(uri.Query)["vhost"];
        }

        vhost ??= ParameterOf(app, "vhost") ?? ParameterOf(streamName, "vhost");
        app = app.Split('?')[0].Trim('/');
        var stream = streamName.Split('?')[0];
        return StreamUrl.TryCreate(host, "/" + app + "/" + stream, null, null, vhost, out var url) ? url : null;
    }

    private static string? ParameterOf(string text, string name)
    {
        var query = text.IndexOf('?');
        return query < 0 ? null : System.Web.HttpUtility.ParseQueryString(text[query..])[name];
    }
}
