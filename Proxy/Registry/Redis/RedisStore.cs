using StackExchange.Redis;

namespace SrsProxy.Registry.Redis;

/// <summary>
/// Every Redis command the proxy sends, and the key layout (all under one prefix, so deployments can share
/// a Redis). The only type that touches StackExchange.Redis, so another client version can replace it; how it
/// connects (one Redis, or a primary found through Sentinel) is in <c>RedisStore.Connection.cs</c>.
/// <list type="bullet">
/// <item><c>{p}origin:{id}</c> origin JSON, kept a while after death for listing; <c>{p}origins</c> set of ids.</item>
/// <item><c>{p}alive:{id}</c> exists while the origin heartbeats (expires after the origin TTL).</item>
/// <item><c>{p}down:{id}</c> exists while the origin is in quarantine: it refused or did not answer, and gets no
/// new streams (expires after <c>PROXY_ORIGIN_QUARANTINE</c>).</item>
/// <item><c>{p}stream:{vhost/app/stream}</c> the origin a stream sticks to; expires an origin TTL after that
/// origin's last heartbeat (each heartbeat extends the streams in <c>{p}origin-streams:{id}</c>).</item>
/// <item><c>{p}session:{id}</c> session JSON and <c>{p}username:{ufrags}</c> session id, both expiring unless
/// a relaying instance refreshes them; <c>{p}origin-sessions:{id}</c> sorted set of session ids by expiry;
/// <c>{p}owner:{id}</c> the instance that relays it (its last refresh).</item>
/// <item><c>{p}player:{ip:port}</c> the session a verified player address belongs to, expiring like sessions.</item>
/// <item><c>{p}hls:{id}</c> the origin serving an HLS playlist whose segment URLs carry that id.</item>
/// <item>channel <c>{p}session-removed</c>: the id of every removed session.</item>
/// </list>
/// </summary>
internal sealed partial class RedisStore : IDisposable
{
    public async Task<bool> PutOriginAsync(string id, string json, TimeSpan ttl, TimeSpan keep) =>
        (long)await RunAsync(HeartbeatScript, id, json, Seconds(ttl), Seconds(keep)) == 0;

    /// <summary>
    /// Each known origin's JSON, whether it is alive, its unexpired session count, and how long its quarantine
    /// still runs (null: none).
    /// </summary>
    public async Task<List<(string Json, bool Alive, int Sessions, TimeSpan? Quarantine)>> ListOriginsAsync(DateTimeOffset now)
    {
        var values = (RedisResult[])(await RunAsync(ListOriginsScript, now.ToUnixTimeMilliseconds()))!;
        var origins = new List<(string, bool, int, TimeSpan?)>(values.Length / 4);
        for (var i = 0; i + 3 < values.Length; i += 4)
        {
            var left = (long)values[i + 3];
            origins.Add(((string)values[i]!, (long)values[i + 1] == 1, (int)(long)values[i + 2], left > 0 ? TimeSpan.FromMilliseconds(left) : null));
        }

        return origins;
    }

    /// <summary>Puts an origin in quarantine for <paramref name="quarantine"/>: no new streams, on every instance.</summary>
    public Task QuarantineOriginAsync(string id, TimeSpan quarantine) =>
        GuardAsync(() => Db.StringSetAsync(_prefix + "down:" + id, "1", quarantine));

    public async Task<string?> StickyOriginAsync(string stream)
    {
        var result = await RunAsync(StickyScript, stream);
        return result.IsNull ? null : (string?)result;
    }

    /// <summary>Claims the stream for <paramref name="candidate"/> unless it already sticks to an alive origin.</summary>
    public async Task<string?> ClaimStreamAsync(string stream, string candidate, TimeSpan ttl)
    {
        var result = await RunAsync(ClaimScript, stream, candidate, Seconds(ttl));
        return result.IsNull ? null : (string?)result;
    }

    public async Task<List<(string Stream, string OriginId)>> ListStreamsAsync()
    {
        var keys = KeysWith("stream:");
        if (keys.Length == 0)
        {
            return [];
        }

        var values = await GuardAsync(() => Db.StringGetAsync(keys));
        var streams = new List<(string, string)>(keys.Length);
        for (var i = 0; i < keys.Length; i++)
        {
            if (values[i].HasValue)
            {
                streams.Add((((string)keys[i]!)[(_prefix.Length + "stream:".Length)..], (string)values[i]!));
            }
        }

        return streams;
    }

    public async Task<bool> AddSessionAsync(string id, string username, string originId, string json, TimeSpan ttl, DateTimeOffset now) =>
        (long)await RunAsync(AddSessionScript, id, username, originId, json, Seconds(ttl), (now + ttl).ToUnixTimeMilliseconds()) == 1;

    public async Task<bool> ReplaceSessionAsync(string id, string oldUsername, string newUsername, string json, TimeSpan ttl) =>
        (long)await RunAsync(ReplaceUsernameScript, id, oldUsername, newUsername, json, Seconds(ttl)) == 1;

    public Task RefreshSessionsAsync(IEnumerable<(string Id, string Username, string OriginId, string Stream, string Json)> sessions, TimeSpan ttl, TimeSpan originTtl, DateTimeOffset now, string instance) =>
        GuardAsync<bool>(async () =>
        {
            var batch = Db.CreateBatch();
            var pending = new List<Task>();
            var expires = (now + ttl).ToUnixTimeMilliseconds();
            foreach (var (id, username, originId, stream, json) in sessions)
            {
                pending.Add(batch.ScriptEvaluateAsync(RefreshSessionScript, null,
                    [_prefix, id, username, originId, stream, json, Seconds(ttl), expires, Seconds(originTtl), instance]));
            }

            batch.Execute();
            await Task.WhenAll(pending);
            return true;
        });

    public async Task<bool> RemoveSessionAsync(string id) => (long)await RunAsync(RemoveSessionScript, id) == 1;

    /// <summary>Removes a session unless an instance other than <paramref name="instance"/> claimed it; true when removed.</summary>
    public async Task<bool> ReleaseSessionAsync(string id, string instance) => (long)await RunAsync(RemoveSessionScript, id, instance) == 1;

    /// <summary>Maps each verified player address to its session, for <paramref name="ttl"/>.</summary>
    public Task PutPlayerAddressesAsync(IEnumerable<PlayerAddress> addresses, TimeSpan ttl) =>
        GuardAsync<bool>(async () =>
        {
            var batch = Db.CreateBatch();
            var pending = addresses.Select(a => (Task)batch.StringSetAsync(_prefix + "player:" + a.Address, a.SessionId, ttl)).ToList();
            batch.Execute();
            await Task.WhenAll(pending);
            return true;
        });

    public async Task<string?> FindSessionByPlayerAddressAsync(string address)
    {
        var id = await GuardAsync(() => Db.StringGetAsync(_prefix + "player:" + address));
        return id.HasValue ? await GetSessionAsync((string)id!) : null;
    }

    public async Task<string?> GetSessionAsync(string id)
    {
        var value = await GuardAsync(() => Db.StringGetAsync(_prefix + "session:" + id));
        return value.HasValue ? (string)value! : null;
    }

    public async Task<string?> FindSessionByUsernameAsync(string username)
    {
        var id = await GuardAsync(() => Db.StringGetAsync(_prefix + "username:" + username));
        return id.HasValue ? await GetSessionAsync((string)id!) : null;
    }

    public async Task<List<string>> ListSessionsAsync()
    {
        var keys = KeysWith("session:");
        if (keys.Length == 0)
        {
            return [];
        }

        var values = await GuardAsync(() => Db.StringGetAsync(keys));
        return values.Where(v => v.HasValue).Select(v => (string)v!).ToList();
    }

    public Task PutHlsOriginAsync(string hlsId, string originId, TimeSpan lifetime) =>
        GuardAsync(() => Db.StringSetAsync(_prefix + "hls:" + hlsId, originId, lifetime));

    /// <summary>The origin id, with its lifetime renewed (GETEX, Redis 6.2+), or null.</summary>
    public async Task<string?> GetHlsOriginAsync(string hlsId, TimeSpan lifetime)
    {
        var value = await GuardAsync(() => Db.ExecuteAsync("GETEX", _prefix + "hls:" + hlsId, "EX", Seconds(lifetime)));
        return value.IsNull ? null : (string?)value;
    }

    /// <summary>
    /// Key names by SCAN, on the primary: in Sentinel mode the connection also knows the replicas, and a replica
    /// that has not caught up would list stale keys.
    /// </summary>
    private RedisKey[] KeysWith(string kind)
    {
        try
        {
            var server = Connection.GetServers().FirstOrDefault(s => s.IsConnected && !s.IsReplica)
                ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "no connected primary");
            return server.Keys(_database, _prefix + kind + "*", pageSize: 500).Take(100_000).ToArray();
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            throw Unavailable(e);
        }
    }

    private Task<RedisResult> RunAsync(string script, params RedisValue[] arguments) =>
        GuardAsync(() => Db.ScriptEvaluateAsync(script, null, [_prefix, .. arguments]));

    /// <summary>
    /// Bounds every call in time and turns Redis failures, thrown at once or later, into
    /// <see cref="RegistryUnavailableException"/>.
    /// </summary>
    private async Task<T> GuardAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().WaitAsync(_timeout);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            throw Unavailable(e);
        }
    }

    private RegistryUnavailableException Unavailable(Exception e) => new($"{Describe} unavailable: {FirstLine(e.Message)}", e);

    private static long Seconds(TimeSpan span) => Math.Max(1, (long)Math.Ceiling(span.TotalSeconds));

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
