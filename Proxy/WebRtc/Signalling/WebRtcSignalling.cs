using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using SrsProxy.Configuration;
using SrsProxy.Hosting;
using SrsProxy.Registry;
using SrsProxy.Streams;
using SrsProxy.WebRtc.Relay;
using SrsProxy.WebRtc.Sdp;

namespace SrsProxy.WebRtc.Signalling;

/// <summary>
/// WHIP/WHEP (RFC 9725, draft-ietf-wish-whep) and SRS's JSON API through the proxy: the offer goes to the
/// stream's origin without the player's candidates, the answer comes back with its UDP candidates pointed
/// at the relay, and the session is registered so the relay can carry its media. DELETE and PATCH reach the
/// same origin through the proxy's own session URL.
/// </summary>
internal sealed partial class WebRtcSignalling
{
    /// <summary>Largest offer, trickle fragment or JSON body accepted; browsers' offers are under 16 KiB.</summary>
    internal const int MaxBodyBytes = 64 * 1024;

    /// <summary>Signalling requests waiting on origins at once; past this the proxy answers 503.</summary>
    internal const int MaxPendingRequests = 256;

    internal const string SessionPathPrefix = "/rtc/v1/sessions/";

    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(3);

    /// <summary>
    /// JSON bodies with a property named twice are malformed: refused at parse time, not left to throw
    /// ArgumentException when <see cref="JsonObject"/> first reads its properties.
    /// </summary>
    private static readonly JsonDocumentOptions JsonBodyOptions = new() { AllowDuplicateProperties = false };

    private readonly ProxyOptions _options;
    private readonly IProxyRegistry _registry;
    private readonly RtcRelay _relay;
    private readonly OriginClient _origins;
    private readonly TimeProvider _time;
    private readonly ILogger<WebRtcSignalling> _logger;
    private int _pending;

    public WebRtcSignalling(ProxyOptions options, IProxyRegistry registry, RtcRelay relay, OriginClient origins, TimeProvider time, ILogger<WebRtcSignalling> logger)
    {
        _options = options;
        _registry = registry;
        _relay = relay;
        _origins = origins;
        _time = time;
        _logger = logger;
    }

    /// <summary>POST of an SDP offer to <c>/rtc/v1/whep/</c> or <c>/rtc/v1/whip/</c>.</summary>
    public Task OfferAsync(HttpContext context, string kind, string streamPath) =>
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

            var origin = await _registry.PickOriginAsync(stream, cancellationToken);
            var apiBase = ApiBaseOf(origin);
            var target = new Uri(apiBase, request.Path.Value + request.QueryString.Value);
            var forwarded = SdpRewriter.StripCandidates(offer, out _);
            var answer = await _origins.SendAsync(HttpMethod.Post, target, forwarded, "application/sdp", ForwardedHeaders(request), cancellationToken);
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

    /// <summary>SRS's JSON API: POST <c>{"streamurl":..., "sdp":...}</c> to <c>/rtc/v1/play/</c> or <c>/rtc/v1/publish/</c>.</summary>
    public Task JsonApiAsync(HttpContext context, string kind) =>
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

            var origin = await _registry.PickOriginAsync(stream, cancellationToken);
            var target = new Uri(ApiBaseOf(origin), request.Path.Value + request.QueryString.Value);
            body["sdp"] = SdpRewriter.StripCandidates(offer, out _);
            var answer = await _origins.SendAsync(HttpMethod.Post, target, body.ToJsonString(), "application/json", ForwardedHeaders(request), cancellationToken);
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

    /// <summary>DELETE of the proxy's session URL: the origin is told, and the relay stops at once.</summary>
    public Task DeleteAsync(HttpContext context, string id) =>
        GuardAsync(context, async cancellationToken =>
        {
            var record = await _registry.GetRtcSessionAsync(id, cancellationToken);
            var local = _relay.Find(id);
            if (record is null && local is null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status404NotFound, "no such session");
                return;
            }

            record ??= local!.Record;
            var status = StatusCodes.Status200OK;
            if (record.OriginLocation is { } location)
            {
                try
                {
                    var answer = await _origins.SendAsync(HttpMethod.Delete, new Uri(location), null, null, ForwardedHeaders(context.Request), cancellationToken);
                    status = answer.IsSuccess ? answer.Status : status;
                }
                catch (OriginException e)
                {
                    // The player asked to end the session: it ends here even if the origin cannot be told.
                    LogOriginDeleteFailed(id, e.Message);
                }
            }

            if (local is not null)
            {
                await _relay.CloseAsync(local, "deleted");
            }
            else
            {
                await _registry.RemoveRtcSessionAsync(id, cancellationToken);
            }

            context.Response.StatusCode = status;
        });

    /// <summary>
    /// PATCH of the proxy's session URL with a trickle-ICE fragment (RFC 8840): forwarded to the origin's
    /// session without the player's candidates. An ICE restart answer changes the session's username.
    /// </summary>
    public Task PatchAsync(HttpContext context, string id) =>
        GuardAsync(context, async cancellationToken =>
        {
            var request = context.Request;
            if (!string.Equals(request.ContentType?.Split(';')[0].Trim(), "application/trickle-ice-sdpfrag", StringComparison.OrdinalIgnoreCase))
            {
                await Problem.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, "PATCH takes application/trickle-ice-sdpfrag");
                return;
            }

            var record = await _registry.GetRtcSessionAsync(id, cancellationToken);
            if (record is null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status404NotFound, "no such session");
                return;
            }

            if (record.OriginLocation is not { } location)
            {
                context.Response.Headers.Allow = "DELETE, OPTIONS";
                await Problem.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "the origin gave no session URL for this session");
                return;
            }

            var fragment = await BodyReader.ReadTextAsync(request, MaxBodyBytes, cancellationToken);
            if (fragment is null)
            {
                await Problem.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"fragment larger than {MaxBodyBytes} bytes");
                return;
            }

            var headers = ForwardedHeaders(request).ToList();
            if (request.Headers.IfMatch.Count > 0)
            {
                headers.Add(new("If-Match", request.Headers.IfMatch.ToString()));
            }

            var forwarded = SdpRewriter.StripCandidates(fragment, out _);
            var answer = await _origins.SendAsync(HttpMethod.Patch, new Uri(location), forwarded, "application/trickle-ice-sdpfrag", headers, cancellationToken);
            var body = answer.Body;
            if (answer.Status == StatusCodes.Status200OK &&
                SdpLines.FirstAttribute(body, "ice-ufrag") is { Length: > 0 } answerUfrag &&
                SdpLines.FirstAttribute(body, "ice-pwd") is { Length: > 0 } answerPwd &&
                SdpLines.FirstAttribute(fragment, "ice-ufrag") is { Length: > 0 } offerUfrag)
            {
                // ICE restart (RFC 8840 section 4.4): new credentials on both sides.
                var rewrite = SdpRewriter.RewriteAnswer(body, _relay.LocalEndPoint.Port, _options.Candidate, LocalAddressOf(context));
                body = rewrite.Sdp;
                var updated = record with { Username = $"{answerUfrag}:{offerUfrag}", IcePassword = answerPwd };
                if (_relay.Find(id) is { } local && !_relay.TryUpdate(local, updated))
                {
                    await Problem.WriteAsync(context, StatusCodes.Status409Conflict, "the new ICE username is in use by another session");
                    return;
                }

                await _registry.UpdateRtcSessionAsync(updated, cancellationToken);
            }

            var response = context.Response;
            response.StatusCode = answer.Status;
            CopyEntityHeaders(answer, response);
            if (body.Length > 0)
            {
                response.ContentType = answer.ContentType ?? "application/trickle-ice-sdpfrag";
                await response.WriteAsync(body, cancellationToken);
            }
        });

    /// <summary>
    /// Rewrites the answer, works out where the relay sends the player's datagrams, and registers the session
    /// with the registry and the relay. Null when it has written an error.
    /// </summary>
    private async Task<(RtcSessionRecord Record, string AnswerSdp)?> CreateSessionAsync(
        HttpContext context, string kind, StreamUrl stream, OriginServer origin, string offerUfrag, string answerSdp, Uri? originLocation, CancellationToken cancellationToken)
    {
        if (!SdpLines.LooksLikeSdp(answerSdp) ||
            SdpLines.FirstAttribute(answerSdp, "ice-ufrag") is not { Length: > 0 } answerUfrag ||
            SdpLines.FirstAttribute(answerSdp, "ice-pwd") is not { Length: > 0 } answerPwd)
        {
            await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, $"origin {origin.Id} answered without an SDP carrying ICE credentials");
            return null;
        }

        var rewrite = SdpRewriter.RewriteAnswer(answerSdp, _relay.LocalEndPoint.Port, _options.Candidate, LocalAddressOf(context));
        string relayHost;
        int relayPort;
        if (rewrite.OriginCandidate is { } candidate)
        {
            SdpRewriter.TryResolveRelayTarget(candidate, origin.Ip, out relayHost, out relayPort);
        }
        else
        {
            (relayHost, relayPort) = (origin.Ip, origin.RtcUdpPort);
        }

        var relayEndPoint = relayPort == 0 ? null : await ResolveAsync(relayHost, relayPort, cancellationToken);
        if (relayEndPoint is null)
        {
            await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, $"origin {origin.Id} gave no UDP candidate the proxy can reach");
            return null;
        }

        if (_relay.SessionCount >= _options.MaxRtcSessions)
        {
            // The relay's own cap: each session holds a socket here, whatever a shared registry holds.
            throw new RegistryFullException($"relay full ({_options.MaxRtcSessions} sessions, PROXY_RTC_MAX_SESSIONS)");
        }

        var record = new RtcSessionRecord
        {
            Id = NewSessionId(),
            Kind = kind,
            StreamKey = stream.Key,
            OriginId = origin.Id,
            Username = $"{answerUfrag}:{offerUfrag}",
            IcePassword = answerPwd,
            RelayHost = relayEndPoint.Address.ToString(),
            RelayPort = relayEndPoint.Port,
            OriginLocation = originLocation?.AbsoluteUri,
            Created = _time.GetUtcNow(),
        };

        await _registry.AddRtcSessionAsync(record, cancellationToken);
        if (!_relay.TryOpen(record, relayEndPoint, out _))
        {
            await _registry.RemoveRtcSessionAsync(record.Id, CancellationToken.None);
            await Problem.WriteAsync(context, StatusCodes.Status409Conflict, "the ICE username of this offer is in use by another session");
            return null;
        }

        return (record, rewrite.Sdp);
    }

    /// <summary>Runs a handler with the pending-request cap, turning expected failures into clear answers.</summary>
    private async Task GuardAsync(HttpContext context, Func<CancellationToken, Task> handler)
    {
        if (Interlocked.Increment(ref _pending) > MaxPendingRequests)
        {
            Interlocked.Decrement(ref _pending);
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "too many signalling requests in progress", RetryAfter);
            return;
        }

        try
        {
            await handler(context.RequestAborted);
        }
        catch (NoOriginAvailableException e)
        {
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter);
        }
        catch (RegistryFullException e)
        {
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter);
        }
        catch (RegistryUnavailableException e)
        {
            LogRegistryUnavailable(e.Message);
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter);
        }
        catch (OriginException e)
        {
            LogOriginFailed(context.Request.Path, e.Message);
            await Problem.WriteAsync(context, e.Status, e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The player went away; nothing to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
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

    /// <summary>The address the player reached the proxy at: the candidate address when nothing better is known.</summary>
    private static IPAddress? LocalAddressOf(HttpContext context)
    {
        var local = context.Connection.LocalIpAddress;
        if (local is null || local.Equals(IPAddress.Any) || local.Equals(IPAddress.IPv6Any))
        {
            return null;
        }

        return local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local;
    }

    private static async Task<IPEndPoint?> ResolveAsync(string host, int port, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            return new IPEndPoint(ip, port);
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            return addresses.Length == 0 ? null : new IPEndPoint(addresses[0], port);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    /// <summary>128 random bits, hex: session URLs must be unguessable (WHIP section 4.1).</summary>
    private static string NewSessionId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    internal static bool IsSessionId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Signalling {Path}: {Reason}")]
    private partial void LogOriginFailed(string? path, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Signalling refused: {Reason}")]
    private partial void LogRegistryUnavailable(string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Session {SessionId}: the origin was not told of the DELETE: {Reason}")]
    private partial void LogOriginDeleteFailed(string sessionId, string reason);
}
