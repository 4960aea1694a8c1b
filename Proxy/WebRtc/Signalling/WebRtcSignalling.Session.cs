using SrsProxy.Http;
using SrsProxy.WebRtc.Sdp;

namespace SrsProxy.WebRtc.Signalling;

internal sealed partial class WebRtcSignalling
{
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

            var forwarded = SdpRewriter.StripCandidates(fragment);
            var answer = await _origins.SendAsync(HttpMethod.Patch, new Uri(location), forwarded, "application/trickle-ice-sdpfrag", headers, cancellationToken);
            var body = answer.Body;
            if (answer.Status == StatusCodes.Status200OK &&
                SdpLines.FirstAttribute(body, "ice-ufrag") is { Length: > 0 } answerUfrag &&
                SdpLines.FirstAttribute(body, "ice-pwd") is { Length: > 0 } answerPwd &&
                SdpLines.FirstAttribute(fragment, "ice-ufrag") is { Length: > 0 } offerUfrag)
            {
                // ICE restart (RFC 8840 section 4.4): new credentials on both sides.
                var rewrite = SdpRewriter.RewriteAnswer(body, _relay.LocalEndPoint.Port, _options.Candidate, LocalAddressOf(context), _tcp?.Port);
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
}
