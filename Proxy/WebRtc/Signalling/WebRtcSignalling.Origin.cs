using SrsProxy.Http;
using SrsProxy.Registry;
using SrsProxy.Streams;

namespace SrsProxy.WebRtc.Signalling;

internal sealed partial class WebRtcSignalling
{
    /// <summary>
    /// Picks the stream's origin and posts the offer to the same path there. An origin that refuses the
    /// connection or does not answer in time goes into quarantine (no new streams for a while, before its TTL
    /// would tell), and the offer goes once more, to the origin picked then: the player gets an answer from an
    /// origin that works, or the first origin's error (502 or 504) when no other is left.
    /// </summary>
    private async Task<(OriginServer Origin, Uri Target, OriginResponse Answer)> OfferToOriginAsync(
        StreamUrl stream, HttpRequest request, string body, string contentType, CancellationToken cancellationToken)
    {
        OriginException? failed = null;
        for (var attempt = 0; ; attempt++)
        {
            OriginServer origin;
            try
            {
                origin = await _registry.PickOriginAsync(stream, cancellationToken);
            }
            catch (NoOriginAvailableException) when (failed is not null)
            {
                // The only origin just failed: the player hears why (502 or 504), not "no origin".
                throw failed;
            }

            var target = new Uri(ApiBaseOf(origin), request.Path.Value + request.QueryString.Value);
            try
            {
                return (origin, target, await _origins.SendAsync(HttpMethod.Post, target, body, contentType, ForwardedHeaders(request), cancellationToken));
            }
            catch (OriginException e) when (e.Unreachable && !cancellationToken.IsCancellationRequested)
            {
                LogOriginQuarantined(origin.Id, e.Message);
                await _registry.ReportOriginUnreachableAsync(origin.Id, cancellationToken);
                if (attempt > 0 || origin.IsStatic)
                {
                    throw;
                }

                failed = e;
            }
        }
    }

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
