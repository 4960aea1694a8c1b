using SrsProxy.Http;

namespace SrsProxy.WebRtc.Signalling;

/// <summary>Routes of <c>PROXY_HTTP_API</c>: the signalling paths SRS serves, and the proxy's session URLs.</summary>
internal static class WebRtcEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/v1/versions", (HttpContext context) =>
            JsonAnswer.WriteVersionAsync(context));

        // WHEP plays, WHIP publishes; the stream is ?app=&stream= or the rest of the path.
        endpoints.MapPost("/rtc/v1/whep/{**stream}", (HttpContext context, WebRtcSignalling signalling, string? stream) =>
            signalling.OfferAsync(context, "whep", stream ?? ""));
        endpoints.MapPost("/rtc/v1/whip/{**stream}", (HttpContext context, WebRtcSignalling signalling, string? stream) =>
            signalling.OfferAsync(context, "whip", stream ?? ""));

        // SRS's older JSON API, used by srs-bench and SRS's own players.
        endpoints.MapPost("/rtc/v1/play", (HttpContext context, WebRtcSignalling signalling) => signalling.JsonApiAsync(context, "play"));
        endpoints.MapPost("/rtc/v1/publish", (HttpContext context, WebRtcSignalling signalling) => signalling.JsonApiAsync(context, "publish"));

        endpoints.MapDelete(WebRtcSignalling.SessionPathPrefix + "{id}", (HttpContext context, WebRtcSignalling signalling, string id) =>
            WebRtcSignalling.IsSessionId(id) ? signalling.DeleteAsync(context, id) : Problem.WriteAsync(context, StatusCodes.Status404NotFound, "no such session"));
        endpoints.MapPatch(WebRtcSignalling.SessionPathPrefix + "{id}", (HttpContext context, WebRtcSignalling signalling, string id) =>
            WebRtcSignalling.IsSessionId(id) ? signalling.PatchAsync(context, id) : Problem.WriteAsync(context, StatusCodes.Status404NotFound, "no such session"));
    }
}
