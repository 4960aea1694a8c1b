using SrsProxy.WebRtc.Signalling;

namespace SrsProxy.Metrics;

/// <summary>
/// Counts WebRTC signalling requests on <c>PROXY_HTTP_API</c> by kind and by the status they were answered
/// with, whoever answered: the origin, the proxy, or the error middleware inside this one.
/// </summary>
internal static class SignallingMetricsMiddleware
{
    private const string Prefix = "/rtc/v1/";

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var kind = KindOf(context.Request);
        if (kind is null)
        {
            await next(context);
            return;
        }

        var metrics = context.RequestServices.GetRequiredService<ProxyMetrics>();
        try
        {
            await next(context);
            metrics.SignallingRequest(kind, context.Response.StatusCode);
        }
        catch
        {
            metrics.SignallingRequest(kind, StatusCodes.Status500InternalServerError);
            throw;
        }
    }

    /// <summary>whep, whip, play, publish (offers), delete, patch (session URLs); null for anything else.</summary>
    private static string? KindOf(HttpRequest request)
    {
        var path = request.Path.Value;
        if (path is null || !path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = path.AsSpan(Prefix.Length);
        if (HttpMethods.IsPost(request.Method))
        {
            return Segment(rest, "whep") ? "whep"
                : Segment(rest, "whip") ? "whip"
                : rest.SequenceEqual("play") ? "play"
                : rest.SequenceEqual("publish") ? "publish"
                : null;
        }

        if (path.StartsWith(WebRtcSignalling.SessionPathPrefix, StringComparison.Ordinal))
        {
            return HttpMethods.IsDelete(request.Method) ? "delete" : HttpMethods.IsPatch(request.Method) ? "patch" : null;
        }

        return null;
    }

    private static bool Segment(ReadOnlySpan<char> rest, string name) =>
        rest.StartsWith(name, StringComparison.Ordinal) && (rest.Length == name.Length || rest[name.Length] == '/');
}
