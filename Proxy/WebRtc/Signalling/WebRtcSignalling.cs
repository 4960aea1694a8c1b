using System.Net;
using SrsProxy.Configuration;
using SrsProxy.Hosting;
using SrsProxy.Http;
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
/// This file: registering a session and the request guard. <c>.Offer.cs</c>: WHIP/WHEP offers and SRS's JSON
/// API; <c>.Session.cs</c>: DELETE and PATCH of a session; <c>.Origin.cs</c>: what passes between player and
/// origin; <c>.Log.cs</c>: log messages.
/// </summary>
internal sealed partial class WebRtcSignalling
{
    /// <summary>Largest offer, trickle fragment or JSON body accepted; browsers' offers are under 16 KiB.</summary>
    internal const int MaxBodyBytes = 64 * 1024;

    /// <summary>Signalling requests waiting on origins at once; past this the proxy answers 503.</summary>
    internal const int MaxPendingRequests = 256;

    internal const string SessionPathPrefix = "/rtc/v1/sessions/";

    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(3);

    private readonly ProxyOptions _options;
    private readonly IProxyRegistry _registry;
    private readonly RtcRelay _relay;
    private readonly OriginClient _origins;
    private readonly TimeProvider _time;
    private readonly ILogger<WebRtcSignalling> _logger;
    private readonly DrainState? _drain;
    private readonly RtcTcpServer? _tcp;
    private int _pending;

    public WebRtcSignalling(ProxyOptions options, IProxyRegistry registry, RtcRelay relay, OriginClient origins, TimeProvider time, ILogger<WebRtcSignalling> logger, DrainState? drain = null, RtcTcpServer? tcp = null)
    {
        _drain = drain;
        _tcp = tcp;
        _options = options;
        _registry = registry;
        _relay = relay;
        _origins = origins;
        _time = time;
        _logger = logger;
    }

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

        var rewrite = SdpRewriter.RewriteAnswer(answerSdp, _relay.LocalEndPoint.Port, _options.Candidate, LocalAddressOf(context), _tcp?.Port);
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
    private static string NewSessionId() => Convert.ToHexStringLower(SecureRandom.GetBytes(16));

    internal static bool IsSessionId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);
}
