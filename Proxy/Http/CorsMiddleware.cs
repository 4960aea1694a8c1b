
namespace SrsProxy.Http;

/// <summary>
/// CORS for browser players on other origins (WHIP section 4.7, WHEP likewise): every answer allows any
/// origin and exposes <c>Location</c>, <c>ETag</c> and <c>Link</c>; a preflight is answered here, without
/// authentication, because browsers send it without credentials.
/// </summary>
internal static class CorsMiddleware
{
    public static Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlExposeHeaders = "Location, ETag, Link, Accept-Patch, Retry-After";
        if (!HttpMethods.IsOptions(context.Request.Method))
        {
            return next();
        }

        headers.AccessControlAllowMethods = "GET, POST, PATCH, DELETE, OPTIONS";
        headers.AccessControlAllowHeaders = "Content-Type, Authorization, If-Match";
        headers.AccessControlMaxAge = "86400";
        headers["Accept-Post"] = "application/sdp";
        headers["Accept-Patch"] = "application/trickle-ice-sdpfrag";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
