using SrsProxy.Http;
using SrsProxy.Registry;

namespace SrsProxy.WebRtc.Signalling;

internal sealed partial class WebRtcSignalling
{
    private static Uri ApiBaseOf(OriginServer origin) =>
        origin.ApiBaseUri ?? throw new OriginException(StatusCodes.Status502BadGateway, $"origin {origin.Id} registered no api endpoint");

    /// <summary>Headers the origin needs from the player: its bearer token (WHIP section 4.5).</summary>
    private static IEnumerable<KeyValuePair<string, string>> ForwardedHeaders(HttpRequest request)
    {
        if (request.Headers.Authorization.Count > 0)
        {
            yield return new("Authorization", request.Headers.Authorization.ToString());
        }
    }

    private static void CopyEntityHeaders(OriginResponse answer, HttpResponse response)
    {
        if (answer.ETag is { } etag)
        {
            response.Headers.ETag = etag;
        }

        if (answer.Links.Length > 0)
        {
            response.Headers.Link = answer.Links;
        }
    }

    /// <summary>An origin's error answer goes to the player as it is; a success without a usable answer is a 502.</summary>
    private static async Task PassThroughAsync(HttpContext context, OriginResponse answer)
    {
        if (answer.IsSuccess)
        {
            await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, "origin answered without a usable SDP answer");
            return;
        }

        var response = context.Response;
        response.StatusCode = answer.Status;
        CopyEntityHeaders(answer, response);
        if (answer.ContentType is { } type)
        {
            response.ContentType = type;
        }

        await response.WriteAsync(answer.Body, context.RequestAborted);
    }
}
