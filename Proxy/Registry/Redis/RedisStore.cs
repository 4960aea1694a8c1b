using StackExchange.Redis;

namespace SrsProxy.Registry.Redis;

/// <summary>
/// Every Redis command the proxy sends, and the key layout (all under one prefix, so deployments can share
/// a Redis). The only type that touches StackExchange.Redis, so another client version can replace it.
/// <list type="bullet">
/// <item><c>{p}origin:{id}</c> origin JSON, kept a while after death for listing; <c>{p}origins</c> set of ids.</item>
/// <item><c>{p}alive:{id}</c> exists while the origin heartbeats (expires after the origin TTL).</item>
/// <item><c>{p}stream:{vhost/app/stream}</c> the origin a stream sticks to; expires an origin TTL after that
/// origin's last heartbeat (each heartbeat extends the streams in <c>{p}origin-streams:{id}</c>).</item>
/// <item><c>{p}session:{id}</c> session JSON and <c>{p}username:{ufrags}</c> session id, both expiring unless
/// a relaying instance refreshes them; <c>{p}origin-sessions:{id}</c> sorted set of session ids by expiry.</item>
/// <item><c>{p}hls:{id}</c> the origin serving an HLS playlist whose segment URLs carry that id.</item>
/// <item>channel <c>{p}session-removed</c>: the id of every removed session.</item>
/// </list>
/// </summary>
internal sealed class RedisStore : IDisposable
{
    private const string HeartbeatScript = """
        local p, id = ARGV[1], ARGV[2]
        local existed = redis.call('EXISTS', p..'origin:'..id)
        redis.call('SET', p..'origin:'..id, ARGV[3], 'EX', ARGV[5])
        redis.call('SADD', p..'origins', id)
        redis.call('SET', p..'alive:'..id, '1', 'EX', ARGV[4])
        for _, s in ipairs(redis.call('SMEMBERS', p..'origin-streams:'..id)) do
          if redis.call('GET', p..'stream:'..s) == id then
            redis.call('EXPIRE', p..'stream:'..s, ARGV[4])
          else
            redis.call('SREM', p..'origin-streams:'..id, s)
          end
        end
        redis.call('EXPIRE', p..'origin-streams:'..id, ARGV[5])
        return existed
        """;

    private const string ListOriginsScript = """
        local p, now = ARGV[1], ARGV[2]
        local out = {}
        for _, id in ipairs(redis.call('SMEMBERS', p..'origins')) do
          local json = redis.call('GET', p..'origin:'..id)
          if json then
            redis.call('ZREMRANGEBYSCORE', p..'origin-sessions:'..id, '-inf', '('..now)
            table.insert(out, json)
            table.insert(out, redis.call('EXISTS', p..'alive:'..id))
            table.insert(out, redis.call('ZCARD', p..'origin-sessions:'..id))
          else
            redis.call('SREM', p..'origins', id)
          end
        end
        return out
        """;

    private const string StickyScript = """
        local cur = redis.call('GET', ARGV[1]..'stream:'..ARGV[2])
        if cur and redis.call('EXISTS', ARGV[1]..'alive:'..cur) == 1 then return cur end
        return false
        """;

    /// <summary>The first pick of a stream: whoever claims first wins, and everyone gets the winner.</summary>
    private const string ClaimScript = """
        local p, stream, candidate = ARGV[1], ARGV[2], ARGV[3]
        local cur = redis.call('GET', p..'stream:'..stream)
        if cur and redis.call('EXISTS', p..'alive:'..cur) == 1 then return cur end
        if redis.call('EXISTS', p..'alive:'..candidate) == 0 then return false end
        redis.call('SET', p..'stream:'..stream, candidate, 'EX', ARGV[4])
        redis.call('SADD', p..'origin-streams:'..candidate, stream)
        return candidate
        """;

    private const string AddSessionScript = """
        local p, id, username, origin = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        if redis.call('EXISTS', p..'username:'..username) == 1 or redis.call('EXISTS', p..'session:'..id) == 1 then return 0 end
        redis.call('SET', p..'session:'..id, ARGV[5], 'EX', ARGV[6])
        redis.call('SET', p..'username:'..username, id, 'EX', ARGV[6])
        redis.call('ZADD', p..'origin-sessions:'..origin, ARGV[7], id)
        return 1
        """;

    /// <summary>Writes a session back (a restarted Redis lost it) or extends it, with its stream's affinity.</summary>
    private const string RefreshSessionScript = """
        local p, id, username, origin, stream = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        redis.call('SET', p..'session:'..id, ARGV[6], 'EX', ARGV[7])
        redis.call('SET', p..'username:'..username, id, 'EX', ARGV[7])
        redis.call('ZADD', p..'origin-sessions:'..origin, ARGV[8], id)
        if redis.call('SET', p..'stream:'..stream, origin, 'NX', 'EX', ARGV[9]) then
          redis.call('SADD', p..'origin-streams:'..origin, stream)
        end
        return 1
        """;

    private const string RemoveSessionScript = """
        local p, id = ARGV[1], ARGV[2]
        local json = redis.call('GET', p..'session:'..id)
        if not json then return 0 end
        local record = cjson.decode(json)
        redis.call('DEL', p..'session:'..id)
        if redis.call('GET', p..'username:'..record.username) == id then redis.call('DEL', p..'username:'..record.username) end
        redis.call('ZREM', p..'origin-sessions:'..record.origin_id, id)
        redis.call('PUBLISH', p..'session-removed', id)
        return 1
        """;

    private const string ReplaceUsernameScript = """
        local p, id, old, new = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        if redis.call('EXISTS', p..'session:'..id) == 0 then return 0 end
        if old ~= new then
          if redis.call('EXISTS', p..'username:'..new) == 1 then return 0 end
          if redis.call('GET', p..'username:'..old) == id then redis.call('DEL', p..'username:'..old) end
        end
        redis.call('SET', p..'session:'..id, ARGV[5], 'KEEPTTL')
        redis.call('SET', p..'username:'..new, id, 'EX', ARGV[6])
        return 1
        """;

    private readonly ConnectionMultiplexer _connection;
    private readonly IDatabase _db;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;

    private RedisStore(ConnectionMultiplexer connection, int database, string prefix, TimeSpan timeout)
    {
        _connection = connection;
        _db = connection.GetDatabase(database);
        _prefix = prefix;
        _timeout = timeout;
        Describe = $"redis {string.Join(",", connection.GetEndPoints().Select(e => e.ToString()))} db {database}";
        connection.GetSubscriber().Subscribe(prefix + "session-removed", (_, id) => SessionRemoved?.Invoke((string)id!));
        connection.ConnectionFailed += (_, e) => ConnectionChanged?.Invoke(false, e.Exception?.Message ?? e.FailureType.ToString());
        connection.ConnectionRestored += (_, _) => ConnectionChanged?.Invoke(true, "restored");
    }

    /// <summary>Raised for every session removed through any instance.</summary>
    public event Action<string>? SessionRemoved;

    /// <summary>Raised when the connection drops (false) or comes back (true), with a reason.</summary>
    public event Action<bool, string>? ConnectionChanged;

    public string Describe { get; }

    /// <summary>Connects, or throws <see cref="RegistryUnavailableException"/> with the reason.</summary>
    public static RedisStore Connect(string host, int port, string password, int database, string prefix, TimeSpan timeout)
    {
        var configuration = new ConfigurationOptions
        {
            AbortOnConnectFail = true,
            ConnectTimeout = (int)timeout.TotalMilliseconds,
            SyncTimeout = (int)timeout.TotalMilliseconds,
            ConnectRetry = 2,
            KeepAlive = 5,
            DefaultDatabase = database,
            ClientName = "srs-proxy",
        };
        configuration.EndPoints.Add(host, port);
        if (password.Length > 0)
        {
            configuration.Password = password;
        }

        try
        {
            return new RedisStore(ConnectionMultiplexer.Connect(configuration), database, prefix, timeout);
        }
        catch (RedisConnectionException e)
        {
            throw new RegistryUnavailableException($"cannot connect to redis {host}:{port}: {FirstLine(e.Message)}", e);
        }
    }

    public async Task<bool> PutOriginAsync(string id, string json, TimeSpan ttl, TimeSpan keep) =>
        (long)await RunAsync(HeartbeatScript, id, json, Seconds(ttl), Seconds(keep)) == 0;

    /// <summary>Each known origin's JSON, whether it is alive, and its unexpired session count.</summary>
    public async Task<List<(string Json, bool Alive, int Sessions)>> ListOriginsAsync(DateTimeOffset now)
    {
        var values = (RedisResult[])(await RunAsync(ListOriginsScript, now.ToUnixTimeMilliseconds()))!;
        var origins = new List<(string, bool, int)>(values.Length / 3);
        for (var i = 0; i + 2 < values.Length; i += 3)
        {
            origins.Add(((string)values[i]!, (long)values[i + 1] == 1, (int)(long)values[i + 2]));
        }

        return origins;
    }

    public async Task<string?> StickyOriginAsync(string stream)
    {
        var result = await RunAsync(StickyScript, stream);
        return result.IsNull ? null : (string)result;
    }

    /// <summary>Claims the stream for <paramref name="candidate"/> unless it already sticks to an alive origin.</summary>
    public async Task<string?> ClaimStreamAsync(string stream, string candidate, TimeSpan ttl)
    {
        var result = await RunAsync(ClaimScript, stream, candidate, Seconds(ttl));
        return result.IsNull ? null : (string)result;
    }

    public async Task<List<(string Stream, string OriginId)>> ListStreamsAsync()
    {
        var keys = KeysWith("stream:");
        if (keys.Length == 0)
        {
            return [];
        }

        var values = await GuardAsync(() => _db.StringGetAsync(keys));
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

    public Task RefreshSessionsAsync(IEnumerable<(string Id, string Username, string OriginId, string Stream, string Json)> sessions, TimeSpan ttl, TimeSpan originTtl, DateTimeOffset now) =>
        GuardAsync<bool>(async () =>
        {
            var batch = _db.CreateBatch();
            var pending = new List<Task>();
            var expires = (now + ttl).ToUnixTimeMilliseconds();
            foreach (var (id, username, originId, stream, json) in sessions)
            {
                pending.Add(batch.ScriptEvaluateAsync(RefreshSessionScript, null,
                    [_prefix, id, username, originId, stream, json, Seconds(ttl), expires, Seconds(originTtl)]));
            }

            batch.Execute();
            await Task.WhenAll(pending);
            return true;
        });

    public async Task<bool> RemoveSessionAsync(string id) => (long)await RunAsync(RemoveSessionScript, id) == 1;

    public async Task<string?> GetSessionAsync(string id)
    {
        var value = await GuardAsync(() => _db.StringGetAsync(_prefix + "session:" + id));
        return value.HasValue ? (string)value! : null;
    }

    public async Task<string?> FindSessionByUsernameAsync(string username)
    {
        var id = await GuardAsync(() => _db.StringGetAsync(_prefix + "username:" + username));
        return id.HasValue ? await GetSessionAsync((string)id!) : null;
    }

    public async Task<List<string>> ListSessionsAsync()
    {
        var keys = KeysWith("session:");
        if (keys.Length == 0)
        {
            return [];
        }

        var values = await GuardAsync(() => _db.StringGetAsync(keys));
        return values.Where(v => v.HasValue).Select(v => (string)v!).ToList();
    }

    public Task PutHlsOriginAsync(string hlsId, string originId, TimeSpan lifetime) =>
        GuardAsync(() => _db.StringSetAsync(_prefix + "hls:" + hlsId, originId, lifetime));

    /// <summary>The origin id, with its lifetime renewed (GETEX, Redis 6.2+), or null.</summary>
    public async Task<string?> GetHlsOriginAsync(string hlsId, TimeSpan lifetime)
    {
        var value = await GuardAsync(() => _db.ExecuteAsync("GETEX", _prefix + "hls:" + hlsId, "EX", Seconds(lifetime)));
        return value.IsNull ? null : (string)value;
    }

    public void Dispose() => _connection.Dispose();

    private RedisKey[] KeysWith(string kind)
    {
        try
        {
            var server = _connection.GetServer(_connection.GetEndPoints()[0]);
            return server.Keys(_db.Database, _prefix + kind + "*", pageSize: 500).Take(100_000).ToArray();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(e);
        }
    }

    private Task<RedisResult> RunAsync(string script, params RedisValue[] arguments) =>
        GuardAsync(() => _db.ScriptEvaluateAsync(script, null, [_prefix, .. arguments]));

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
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw Unavailable(e);
        }
    }

    private RegistryUnavailableException Unavailable(Exception e) => new($"{Describe} unavailable: {FirstLine(e.Message)}", e);

    private static long Seconds(TimeSpan span) => Math.Max(1, (long)Math.Ceiling(span.TotalSeconds));

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();
}
