using System.Text.Json;
using System.Text.Json.Nodes;
using SrsProxy.Http;
using SrsProxy.Streams;
using SrsProxy.WebRtc.Sdp;

namespace SrsProxy.WebRtc.Signalling;

internal sealed partial class WebRtcSignalling
{
    /// <summary>
    /// JSON bodies with a property named twice are malformed: refused at parse time, not left to throw
    /// ArgumentException when <see cref="JsonObject"/> first reads its properties.
    /// </summary>
    private static readonly JsonDocumentOptions JsonBodyOptions = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// POST of an SDP offer to <c>/rtc/v1/whep/</c> or <c>/rtc/v1/whip/</c>. While the instance drains, 503
    /// with <c>Retry-After</c>; DELETE and PATCH of the sessions it has go on working.
    /// </summary>
    public Task OfferAsync(HttpContext context, string kind, string streamPath) => _drain is { IsDraining: true } ? _drain.RefuseAsync(context, "webrtc") :
        GuardAsync(context, async cancellationToken =>
        {
            var request = context.Request;
            var offer = await BodyReader.ReadTextAsync(request, MaxBodyBytes, cancellationToken);
            if (offer is null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"offer larger than {MaxBodyBytes} bytes");
                return;
            }

            if (!SdpLines.LooksLikeSdp(offer) || SdpLines.FirstAttribute(offer, "ice-ufrag") is not { Length: > 0 } offerUfrag)
            {
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "body is not an SDP offer with an a=ice-ufrag line");
                return;
            }

            var query = request.Query;
            if (!StreamUrl.TryCreate(request.Host.Value, streamPath, query["app"], query["stream"], query["vhost"], out var stream))
            {
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "no stream: give ?app=APP&stream=STREAM or /APP/STREAM in the path");
                return;
            }

            var forwarded = SdpRewriter.StripCandidates(offer);
            var (origin, target, answer) = await OfferToOriginAsync(stream, request, forwarded, "application/sdp", cancellationToken);
            if (!answer.IsSuccess)
            {
                await PassThroughAsync(context, answer);
                return;
            }

            var session = await CreateSessionAsync(context, kind, stream, origin, offerUfrag, answer.Body, answer.Location is null ? null : new Uri(target, answer.Location), cancellationToken);
            if (session is null)
            {
                return;
            }

            var response = context.Response;
            response.StatusCode = answer.Status;
            response.ContentType = answer.ContentType ?? "application/sdp";
            response.Headers.Location = SessionPathPrefix + session.Value.Record.Id;
            CopyEntityHeaders(answer, response);
            await response.WriteAsync(session.Value.AnswerSdp, cancellationToken);
        });

    /// <summary>
    /// SRS's JSON API: POST <c>{"streamurl":..., "sdp":...}</c> to <c>/rtc/v1/play/</c> or <c>/rtc/v1/publish/</c>;
    /// refused while draining, as offers are.
    /// </summary>
    public Task JsonApiAsync(HttpContext context, string kind) => _drain is { IsDraining: true } ? _drain.RefuseAsync(context, "webrtc") :
        GuardAsync(context, async cancellationToken =>
        {
            var request = context.Request;
            var text = await BodyReader.ReadTextAsync(request, MaxBodyBytes, cancellationToken);
            if (text is null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"body larger than {MaxBodyBytes} bytes");
                return;
            }

            JsonObject? body;
            try
            {
                body = JsonNode.Parse(text, documentOptions: JsonBodyOptions) as JsonObject;
            }
            catch (JsonException)
            {
                body = null;
            }

            if (body?["sdp"] is not JsonValue sdpValue || !sdpValue.TryGetValue<string>(out var offer) ||
                !SdpLines.LooksLikeSdp(offer) || SdpLines.FirstAttribute(offer, "ice-ufrag") is not { Length: > 0 } offerUfrag)
            {
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "body must be JSON with an \"sdp\" offer that has an a=ice-ufrag line");
                return;
            }

            var streamUrl = body["streamurl"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            if (!StreamUrl.TryParseUrl(streamUrl, out var stream))
            {
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "\"streamurl\" must be a URL such as webrtc://host/app/stream");
                return;
            }

            body["sdp"] = SdpRewriter.StripCandidates(offer);
            var (origin, _, answer) = await OfferToOriginAsync(stream, request, body.ToJsonString(), "application/json", cancellationToken);
            JsonObject? answerBody = null;
            try
            {
                answerBody = answer.IsSuccess ? JsonNode.Parse(answer.Body, documentOptions: JsonBodyOptions) as JsonObject : null;
            }
            catch (JsonException)
            {
            }

            var code = answerBody?["code"] is JsonValue c && c.TryGetValue<int>(out var n) ? n : -1;
            if (answerBody?["sdp"] is not JsonValue answerValue || code != 0 || !answerValue.TryGetValue<string>(out var answerSdp))
            {
                await PassThroughAsync(context, answer);
                return;
            }

            var session = await CreateSessionAsync(context, kind, stream, origin, offerUfrag, answerSdp, originLocation: null, cancellationToken);
            if (session is null)
            {
                return;
            }

            answerBody["sdp"] = session.Value.AnswerSdp;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(answerBody.ToJsonString(), cancellationToken);
        });
}
