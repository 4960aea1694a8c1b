using SrsProxy.Hosting;
using SrsProxy.Registry;
using SrsProxy.Udp;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.SystemApi;

/// <summary>
/// What an operator reads and does, in one place: the system API's JSON routes and the gRPC
/// <c>srsproxy.v1.Control</c> service both call this and map the same records (<see cref="OriginView"/>,
/// <see cref="StreamState"/>, <see cref="SessionView"/>, <see cref="DrainAnswer"/>), so the two cannot drift
/// apart (issue 13).
/// </summary>
internal sealed partial class OperatorView
{
    /// <summary>The reason a session closed by an operator gives, in logs and in its closed event.</summary>
    public const string ClosedByOperator = "closed by operator";

    private readonly IProxyRegistry _registry;
    private readonly RtcRelay _relay;
    private readonly DrainState _drain;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly ILogger<OperatorView> _logger;

    public OperatorView(IProxyRegistry registry, RtcRelay relay, DrainState drain, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<OperatorView> logger)
    {
        _registry = registry;
        _relay = relay;
        _drain = drain;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
    }

    /// <summary>Every origin known, alive or not.</summary>
    public async ValueTask<IReadOnlyList<OriginView>> OriginsAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var origins = await _registry.GetOriginsAsync(cancellationToken);
        return origins.Select(o => new OriginView(
            o.Origin.Id,
            o.Origin.DeviceId,
            o.Origin.Ip,
            o.Alive,
            o.Origin.IsStatic,
            o.LastHeartbeat,
            Math.Round((now - o.LastHeartbeat).TotalSeconds, 1),
            o.ActiveSessions,
            new Dictionary<string, string[]>
            {
                ["rtmp"] = o.Origin.Rtmp.Select(e => e.ToString()).ToArray(),
                ["http"] = o.Origin.Http.Select(e => e.ToString()).ToArray(),
                ["api"] = o.Origin.Api.Select(e => e.ToString()).ToArray(),
                ["srt"] = o.Origin.Srt.Select(e => e.ToString()).ToArray(),
                ["rtc"] = o.Origin.Rtc.Select(e => e.ToString()).ToArray(),
            }) { UnreachableUntil = o.UnreachableUntil }).ToList();
    }

    /// <summary>Streams with an affinity, as the registry keeps them.</summary>
    public ValueTask<IReadOnlyList<StreamState>> StreamsAsync(CancellationToken cancellationToken) => _registry.GetStreamsAsync(cancellationToken);

    /// <summary>The WebRTC sessions this instance relays.</summary>
    public IReadOnlyList<SessionView> Sessions() => _relay.Sessions.Select(ViewOf).ToList();

    public SessionView ViewOf(RtcSession session) => new(
        session.Id,
        session.Record.Kind,
        session.Record.StreamKey,
        session.Record.OriginId,
        session.OriginEndPoint.ToString(),
        session.MediaAddress is { } media ? AddressText.Of(media) : null,
        Math.Round(_time.GetElapsedTime(session.LastActivity).TotalSeconds, 1),
        Volatile.Read(ref session.PacketsToOrigin),
        Volatile.Read(ref session.PacketsToClient),
        Volatile.Read(ref session.BytesToOrigin),
        Volatile.Read(ref session.BytesToClient));

    /// <summary>
    /// Closes a session this instance relays, as the player's DELETE would but from the proxy's side: the relay
    /// forgets it, the registry too, and the origin is told with a DELETE on its session URL, since no player
    /// will. The session as it was last; null when no session of that id is relayed here (or it closed meanwhile).
    /// </summary>
    public async ValueTask<SessionView?> CloseSessionAsync(string id, string requestedBy)
    {
        if (_relay.Find(id) is not { } session)
        {
            return null;
        }

        var view = ViewOf(session);
        if (!await _relay.CloseAsync(session, ClosedByOperator, endAtOrigin: true))
        {
            return null;
        }

        LogSessionClosed(id, requestedBy);
        return view;
    }

    /// <summary>Whether the instance drains, why, until when, and what still plays.</summary>
    public DrainAnswer DrainStatus()
    {
        var info = _drain.Info;
        var active = _drain.ActiveCounts();
        return new DrainAnswer(0, info is not null, info?.Reason, info?.Since, info?.Deadline, active.Values.Sum(), active, _drain.RefusedCounts());
    }

    /// <summary>
    /// Begins the drain and the stop, as SIGTERM does: the host's stop waits for the drain, then closes what is
    /// left and exits. Later requests change nothing but are answered the same.
    /// </summary>
    public DrainAnswer RequestDrain(string requestedBy)
    {
        if (_drain.BeginDrain(requestedBy))
        {
            LogDrainRequested(requestedBy);
        }

        _lifetime.StopApplication();
        return DrainStatus();
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Drain requested ({RequestedBy}): the proxy exits once nothing plays, or at PROXY_GRACE_QUIT_TIMEOUT")]
    private partial void LogDrainRequested(string requestedBy);

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "RTC session {SessionId} closed by an operator ({RequestedBy})")]
    private partial void LogSessionClosed(string sessionId, string requestedBy);
}
