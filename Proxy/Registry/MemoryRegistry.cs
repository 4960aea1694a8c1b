using SrsProxy.Configuration;
using SrsProxy.Streams;

namespace SrsProxy.Registry;

/// <summary>
/// The registry in this process (<c>PROXY_LOAD_BALANCER_TYPE=memory</c>, the default). One lock guards the
/// tables: it is taken by signalling and the operator's API, never per datagram.
/// </summary>
internal sealed class MemoryRegistry : IProxyRegistry
{
    /// <summary>Cap on streams with an affinity; the least recently picked one goes first past it.</summary>
    internal const int MaxStreams = 100_000;

    /// <summary>Cap on HLS ids; expired ones go first, then the oldest.</summary>
    internal const int MaxHlsIds = 100_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, OriginEntry> _origins = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StreamEntry> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RtcSessionRecord> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _sessionsByOrigin = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RtcSessionRecord> _sessionsByUsername = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string OriginId, DateTimeOffset Expires)> _hls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _unreachableUntil = new(StringComparer.Ordinal);
    private readonly ProxyOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;

    public MemoryRegistry(ProxyOptions options, TimeProvider time, Random? random = null)
    {
        _options = options;
        _time = time;
        _random = random ?? Random.Shared;
        if (options.DefaultBackend is { } backend)
        {
            var origin = DefaultBackend.Create(backend);
            _origins[origin.Id] = new OriginEntry(origin, time.GetUtcNow());
        }
    }

    public bool IsShared => false;

    public event Action<string>? RtcSessionRemoved;

    public ValueTask<bool> RegisterOriginAsync(OriginServer origin, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var isNew = !_origins.ContainsKey(origin.Id);
            if (isNew && _origins.Count >= _options.MaxOrigins)
            {
                ForgetDeadOrigins(now);
                if (_origins.Count >= _options.MaxOrigins)
                {
                    throw new RegistryFullException($"origin table full ({_options.MaxOrigins}, PROXY_MAX_ORIGINS)");
                }
            }

            _origins[origin.Id] = new OriginEntry(origin, now);
            return ValueTask.FromResult(isNew);
        }
    }

    public ValueTask<IReadOnlyList<OriginState>> GetOriginsAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<OriginState>>(_origins.Values.Select(e => StateOf(e, now)).ToList());
        }
    }

    public ValueTask<OriginServer> PickOriginAsync(StreamUrl stream, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var key = stream.Key;
        lock (_lock)
        {
            if (_streams.TryGetValue(key, out var sticky) &&
                _origins.TryGetValue(sticky.OriginId, out var stuck) && IsAvailable(stuck, now))
            {
                sticky.LastPicked = now;
                return ValueTask.FromResult(stuck.Origin);
            }

            var alive = new List<(OriginServer, int)>();
            foreach (var entry in _origins.Values)
            {
                if (IsAvailable(entry, now))
                {
                    alive.Add((entry.Origin, SessionsOf(entry.Origin.Id)));
                }
            }

            var chosen = OriginPicker.Pick(alive, _random)
                ?? throw new NoOriginAvailableException($"no alive origin for {key}: {_origins.Count} registered, none heartbeating within {GoDuration.Format(_options.OriginTtl)} and reachable");

            if (!_streams.ContainsKey(key) && _streams.Count >= MaxStreams)
            {
                var oldest = _streams.MinBy(s => s.Value.LastPicked).Key;
                _streams.Remove(oldest);
            }

            _streams[key] = new StreamEntry(chosen.Id, now) { LastPicked = now };
            return ValueTask.FromResult(chosen);
        }
    }

    public ValueTask ReportOriginUnreachableAsync(string originId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_origins.TryGetValue(originId, out var entry) && !entry.Origin.IsStatic)
            {
                _unreachableUntil[originId] = now + _options.OriginQuarantine;
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<StreamState>> GetStreamsAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<StreamState>>(StreamStates());
        }
    }

    public ValueTask AddRtcSessionAsync(RtcSessionRecord session, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_sessions.Count >= _options.MaxRtcSessions)
            {
                throw new RegistryFullException($"session table full ({_options.MaxRtcSessions}, PROXY_RTC_MAX_SESSIONS)");
            }

            if (_sessionsByUsername.ContainsKey(session.Username) || !_sessions.TryAdd(session.Id, session))
            {
                throw new InvalidOperationException($"duplicate session id {session.Id} or username {session.Username}");
            }

            _sessionsByUsername[session.Username] = session;
            _sessionsByOrigin[session.OriginId] = SessionsOf(session.OriginId) + 1;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> UpdateRtcSessionAsync(RtcSessionRecord session, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_sessions.TryGetValue(session.Id, out var old) || old.OriginId != session.OriginId)
            {
                return ValueTask.FromResult(false);
            }

            if (old.Username != session.Username)
            {
                if (_sessionsByUsername.ContainsKey(session.Username))
                {
                    return ValueTask.FromResult(false);
                }

                _sessionsByUsername.Remove(old.Username);
            }

            _sessions[session.Id] = session;
            _sessionsByUsername[session.Username] = session;
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<RtcSessionRecord?> GetRtcSessionAsync(string id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_sessions.GetValueOrDefault(id));
        }
    }

    public ValueTask<RtcSessionRecord?> FindRtcSessionByUsernameAsync(string username, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_sessionsByUsername.GetValueOrDefault(username));
        }
    }

    /// <summary>Nothing expires here: sessions leave by removal only.</summary>
    public ValueTask RefreshRtcSessionsAsync(IReadOnlyCollection<RtcSessionRecord> sessions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>No other instance can relay a player of this one: nothing to keep.</summary>
    public ValueTask PutPlayerAddressesAsync(IReadOnlyCollection<PlayerAddress> addresses, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<RtcSessionRecord?> FindRtcSessionByPlayerAddressAsync(string address, CancellationToken cancellationToken) => ValueTask.FromResult<RtcSessionRecord?>(null);

    /// <summary>No other instance can have claimed it: the same as removing it.</summary>
    public ValueTask<bool> ReleaseIdleRtcSessionAsync(string id, CancellationToken cancellationToken) => RemoveRtcSessionAsync(id, cancellationToken);

    public ValueTask<bool> RemoveRtcSessionAsync(string id, CancellationToken cancellationToken)
    {
        if (!RemoveSession(id))
        {
            return ValueTask.FromResult(false);
        }

        RtcSessionRemoved?.Invoke(id);
        return ValueTask.FromResult(true);
    }

    private bool RemoveSession(string id)
    {
        lock (_lock)
        {
            if (!_sessions.Remove(id, out var session))
            {
                return false;
            }

            _sessionsByUsername.Remove(session.Username);

            var left = SessionsOf(session.OriginId) - 1;
            if (left > 0)
            {
                _sessionsByOrigin[session.OriginId] = left;
            }
            else
            {
                _sessionsByOrigin.Remove(session.OriginId);
            }

            return true;
        }
    }

    public ValueTask PutHlsOriginAsync(string hlsId, string originId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_hls.ContainsKey(hlsId) && _hls.Count >= MaxHlsIds)
            {
                foreach (var (id, _) in _hls.Where(h => h.Value.Expires <= now).ToList())
                {
                    _hls.Remove(id);
                }

                if (_hls.Count >= MaxHlsIds)
                {
                    _hls.Remove(_hls.MinBy(h => h.Value.Expires).Key);
                }
            }

            _hls[hlsId] = (originId, now + lifetime);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<string?> GetHlsOriginAsync(string hlsId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_hls.TryGetValue(hlsId, out var entry) || entry.Expires <= now)
            {
                return ValueTask.FromResult<string?>(null);
            }

            _hls[hlsId] = (entry.OriginId, now + lifetime);
            return ValueTask.FromResult<string?>(entry.OriginId);
        }
    }

    /// <summary>Each stream's affinity with its session count; called under the lock.</summary>
    private List<StreamState> StreamStates()
    {
        var perStream = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var session in _sessions.Values)
        {
            perStream[session.StreamKey] = perStream.GetValueOrDefault(session.StreamKey) + 1;
        }

        return _streams
            .Select(s => new StreamState(s.Key, s.Value.OriginId, s.Value.Since, perStream.GetValueOrDefault(s.Key)))
            .ToList();
    }

    private int SessionsOf(string originId) => _sessionsByOrigin.GetValueOrDefault(originId);

    private bool IsAlive(OriginEntry entry, DateTimeOffset now) =>
        entry.Origin.IsStatic || now - entry.LastHeartbeat <= _options.OriginTtl;

    private bool IsAvailable(OriginEntry entry, DateTimeOffset now) => IsAlive(entry, now) && UnreachableUntil(entry.Origin.Id, now) is null;

    /// <summary>The end of the origin's quarantine, or null when it has none (an ended one is forgotten); under the lock.</summary>
    private DateTimeOffset? UnreachableUntil(string originId, DateTimeOffset now)
    {
        if (!_unreachableUntil.TryGetValue(originId, out var until))
        {
            return null;
        }

        if (until > now)
        {
            return until;
        }

        _unreachableUntil.Remove(originId);
        return null;
    }

    private OriginState StateOf(OriginEntry entry, DateTimeOffset now) =>
        new(entry.Origin, entry.LastHeartbeat, IsAlive(entry, now), SessionsOf(entry.Origin.Id)) { UnreachableUntil = UnreachableUntil(entry.Origin.Id, now) };

    /// <summary>
    /// Drops origins dead for ten TTLs with no session left, so restarted origins (new ids) do not pile up;
    /// called only when the table is full.
    /// </summary>
    private void ForgetDeadOrigins(DateTimeOffset now)
    {
        var forgetAfter = _options.OriginTtl * 10;
        foreach (var (id, entry) in _origins.ToList())
        {
            if (!entry.Origin.IsStatic && now - entry.LastHeartbeat > forgetAfter && SessionsOf(id) == 0)
            {
                _origins.Remove(id);
                _unreachableUntil.Remove(id);
            }
        }
    }

    private sealed record OriginEntry(OriginServer Origin, DateTimeOffset LastHeartbeat);

    private sealed record StreamEntry(string OriginId, DateTimeOffset Since)
    {
        public DateTimeOffset LastPicked { get; set; }
    }
}
