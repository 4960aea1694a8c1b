using System.Text.Json;
using System.Text.Json.Serialization;
using SrsProxy.Configuration;
using SrsProxy.Streams;

namespace SrsProxy.Registry.Redis;

/// <summary>
/// The registry in Redis (<c>PROXY_LOAD_BALANCER_TYPE=redis</c>): several proxy instances share origins,
/// stream affinity and WebRTC sessions, so a player may signal through one instance and send its media to
/// another. Every failure to reach Redis surfaces as <see cref="RegistryUnavailableException"/> (signalling
/// answers 503); the relay keeps carrying the sessions it has.
/// </summary>
internal sealed partial class RedisRegistry : IProxyRegistry, IDisposable
{
    private readonly RedisStore _store;
    private readonly ProxyOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisRegistry> _logger;
    private readonly OriginServer? _defaultBackend;

    public RedisRegistry(RedisStore store, ProxyOptions options, TimeProvider time, ILogger<RedisRegistry> logger)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _defaultBackend = options.DefaultBackend is { } backend ? DefaultBackend.Create(backend) : null;
        _store.SessionRemoved += id => RtcSessionRemoved?.Invoke(id);
        _store.ConnectionChanged += (up, reason) =>
        {
            if (up)
            {
                LogRestored(_store.Describe);
            }
            else
            {
                LogLost(_store.Describe, reason);
            }
        };
        _store.PrimarySwitched += (from, to) => LogPrimarySwitched(_store.Describe, from, to);
        if (!_store.IsConnected)
        {
            LogNotConnectedAtStart(_store.Describe);
        }
    }

    public bool IsShared => true;

    /// <summary>
    /// This instance, in the sessions it claims (<c>{p}owner:{id}</c>): random per process, so a restarted
    /// instance is a new one and never mistakes another's claim for its own.
    /// </summary>
    internal string InstanceId { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public event Action<string>? RtcSessionRemoved;

    /// <summary>How long a session outlives its last refresh: two idle timeouts, at least 10 s.</summary>
    internal TimeSpan SessionTtl => TimeSpan.FromTicks(Math.Max(_options.RtcIdleTimeout.Ticks * 2, TimeSpan.TicksPerSecond * 10));

    /// <summary>How long a dead origin stays listed: ten TTLs, at least five minutes.</summary>
    private TimeSpan KeepDeadOrigin => TimeSpan.FromTicks(Math.Max(_options.OriginTtl.Ticks * 10, TimeSpan.TicksPerMinute * 5));

    public async ValueTask<bool> RegisterOriginAsync(OriginServer origin, CancellationToken cancellationToken)
    {
        var entry = new StoredOrigin(origin, _time.GetUtcNow());
        return await _store.PutOriginAsync(origin.Id, JsonSerializer.Serialize(entry, RedisJsonContext.Default.StoredOrigin), _options.OriginTtl, KeepDeadOrigin);
    }

    public async ValueTask<IReadOnlyList<OriginState>> GetOriginsAsync(CancellationToken cancellationToken)
    {
        var states = new List<OriginState>();
        var now = _time.GetUtcNow();
        foreach (var (json, alive, sessions, quarantine) in await _store.ListOriginsAsync(now))
        {
            if (JsonSerializer.Deserialize(json, RedisJsonContext.Default.StoredOrigin) is { } stored)
            {
                states.Add(new OriginState(stored.Origin, stored.LastHeartbeat, alive, sessions) { UnreachableUntil = now + quarantine });
            }
        }

        if (_defaultBackend is not null)
        {
            states.Add(new OriginState(_defaultBackend, _time.GetUtcNow(), true, 0));
        }

        return states;
    }

    public async ValueTask<OriginServer> PickOriginAsync(StreamUrl stream, CancellationToken cancellationToken)
    {
        var origins = await GetOriginsAsync(cancellationToken);
        var sticky = await _store.StickyOriginAsync(stream.Key);
        if (sticky is not null && origins.FirstOrDefault(o => o.Origin.Id == sticky && o.Available) is { } stuck)
        {
            return stuck.Origin;
        }

        // Two instances may pick at once: the claim is atomic, and the loser takes the winner's origin.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var alive = origins.Where(o => o.Available).Select(o => (o.Origin, o.ActiveSessions)).ToList();
            var candidate = OriginPicker.Pick(alive, Random.Shared)
                ?? throw new NoOriginAvailableException($"no alive origin for {stream.Key}: {origins.Count} registered, none heartbeating within {GoDuration.Format(_options.OriginTtl)} and reachable");
            if (candidate.IsStatic)
            {
                return candidate;
            }

            var winner = await _store.ClaimStreamAsync(stream.Key, candidate.Id, _options.OriginTtl);
            if (winner is not null)
            {
                return winner == candidate.Id ? candidate : origins.FirstOrDefault(o => o.Origin.Id == winner)?.Origin
                    ?? (await GetOriginsAsync(cancellationToken)).FirstOrDefault(o => o.Origin.Id == winner)?.Origin
                    ?? candidate;
            }

            // The candidate died between the listing and the claim: list again.
            origins = await GetOriginsAsync(cancellationToken);
        }

        throw new NoOriginAvailableException($"no alive origin could take {stream.Key}");
    }

    public async ValueTask<IReadOnlyList<StreamState>> GetStreamsAsync(CancellationToken cancellationToken)
    {
        var sessions = await ListSessionsAsync();
        var perStream = sessions.GroupBy(s => s.StreamKey).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return (await _store.ListStreamsAsync())
            .Select(s => new StreamState(s.Stream, s.OriginId, default, perStream.GetValueOrDefault(s.Stream)))
            .ToList();
    }

    public async ValueTask AddRtcSessionAsync(RtcSessionRecord session, CancellationToken cancellationToken)
    {
        if (!await _store.AddSessionAsync(session.Id, session.Username, session.OriginId, Serialize(session), SessionTtl, _time.GetUtcNow()))
        {
            throw new InvalidOperationException($"duplicate session id {session.Id} or username {session.Username}");
        }
    }

    public async ValueTask<bool> UpdateRtcSessionAsync(RtcSessionRecord session, CancellationToken cancellationToken)
    {
        var old = await GetRtcSessionAsync(session.Id, cancellationToken);
        return old is not null && old.OriginId == session.OriginId &&
            await _store.ReplaceSessionAsync(session.Id, old.Username, session.Username, Serialize(session), SessionTtl);
    }

    public async ValueTask<RtcSessionRecord?> GetRtcSessionAsync(string id, CancellationToken cancellationToken) =>
        Deserialize(await _store.GetSessionAsync(id));

    public async ValueTask<RtcSessionRecord?> FindRtcSessionByUsernameAsync(string username, CancellationToken cancellationToken) =>
        Deserialize(await _store.FindSessionByUsernameAsync(username));

    public async ValueTask RefreshRtcSessionsAsync(IReadOnlyCollection<RtcSessionRecord> sessions, CancellationToken cancellationToken)
    {
        if (sessions.Count == 0)
        {
            return;
        }

        await _store.RefreshSessionsAsync(
            sessions.Select(s => (s.Id, s.Username, s.OriginId, s.StreamKey, Serialize(s))),
            SessionTtl,
            _options.OriginTtl,
            _time.GetUtcNow(),
            InstanceId);
    }

    public async ValueTask PutPlayerAddressesAsync(IReadOnlyCollection<PlayerAddress> addresses, CancellationToken cancellationToken)
    {
        if (addresses.Count > 0)
        {
            await _store.PutPlayerAddressesAsync(addresses, SessionTtl);
        }
    }

    public async ValueTask<RtcSessionRecord?> FindRtcSessionByPlayerAddressAsync(string address, CancellationToken cancellationToken) =>
        Deserialize(await _store.FindSessionByPlayerAddressAsync(address));

    /// <summary>Shared: every instance stops sending new streams there at once.</summary>
    public async ValueTask ReportOriginUnreachableAsync(string originId, CancellationToken cancellationToken)
    {
        if (_defaultBackend?.Id != originId)
        {
            await _store.QuarantineOriginAsync(originId, _options.OriginQuarantine);
        }
    }

    public async ValueTask<bool> ReleaseIdleRtcSessionAsync(string id, CancellationToken cancellationToken) =>
        await _store.ReleaseSessionAsync(id, InstanceId);

    public async ValueTask<bool> RemoveRtcSessionAsync(string id, CancellationToken cancellationToken) =>
        await _store.RemoveSessionAsync(id);

    public async ValueTask PutHlsOriginAsync(string hlsId, string originId, TimeSpan lifetime, CancellationToken cancellationToken) =>
        await _store.PutHlsOriginAsync(hlsId, originId, lifetime);

    public async ValueTask<string?> GetHlsOriginAsync(string hlsId, TimeSpan lifetime, CancellationToken cancellationToken) =>
        await _store.GetHlsOriginAsync(hlsId, lifetime);

    public void Dispose() => _store.Dispose();

    private async Task<List<RtcSessionRecord>> ListSessionsAsync() =>
        (await _store.ListSessionsAsync()).Select(Deserialize).OfType<RtcSessionRecord>().ToList();

    private static string Serialize(RtcSessionRecord session) => JsonSerializer.Serialize(session, RegistryJsonContext.Default.RtcSessionRecord);

    private static RtcSessionRecord? Deserialize(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, RegistryJsonContext.Default.RtcSessionRecord);

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Lost {Store}: {Reason}; relaying sessions carry on, new signalling gets 503 until it returns")]
    private partial void LogLost(string store, string reason);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "{Store} is back; relaying sessions are written back within a refresh period")]
    private partial void LogRestored(string store);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "{Store}: the sentinels promoted {Primary} (the primary was {Previous}); writes go to the new primary from now on")]
    private partial void LogPrimarySwitched(string store, string previous, string primary);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "{Store} is not reachable at start; new signalling and registrations get 503 until it is, the connection is retried in the background")]
    private partial void LogNotConnectedAtStart(string store);
}

/// <summary>An origin as stored: its registration and when this proxy heard its last heartbeat.</summary>
internal sealed record StoredOrigin(
    [property: JsonPropertyName("origin")] OriginServer Origin,
    [property: JsonPropertyName("last_heartbeat")] DateTimeOffset LastHeartbeat);

[JsonSerializable(typeof(StoredOrigin))]
internal sealed partial class RedisJsonContext : JsonSerializerContext;
