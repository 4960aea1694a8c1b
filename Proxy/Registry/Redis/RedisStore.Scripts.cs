namespace SrsProxy.Registry.Redis;

/// <summary>
/// The Lua scripts: each read-then-write runs as one script, so two instances never interleave inside it.
/// Every script takes the key prefix as ARGV[1] and builds its keys from it (no KEYS: one Redis, no cluster).
/// </summary>
internal sealed partial class RedisStore
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
            table.insert(out, redis.call('PTTL', p..'down:'..id))
          else
            redis.call('SREM', p..'origins', id)
          end
        end
        return out
        """;

    /// <summary>The origin a stream sticks to, while it is alive and not in quarantine (<c>{p}down:{id}</c>).</summary>
    private const string StickyScript = """
        local cur = redis.call('GET', ARGV[1]..'stream:'..ARGV[2])
        if cur and redis.call('EXISTS', ARGV[1]..'alive:'..cur) == 1 and redis.call('EXISTS', ARGV[1]..'down:'..cur) == 0 then return cur end
        return false
        """;

    /// <summary>The first pick of a stream: whoever claims first wins, and everyone gets the winner.</summary>
    private const string ClaimScript = """
        local p, stream, candidate = ARGV[1], ARGV[2], ARGV[3]
        local cur = redis.call('GET', p..'stream:'..stream)
        if cur and redis.call('EXISTS', p..'alive:'..cur) == 1 and redis.call('EXISTS', p..'down:'..cur) == 0 then return cur end
        if redis.call('EXISTS', p..'alive:'..candidate) == 0 or redis.call('EXISTS', p..'down:'..candidate) == 1 then return false end
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

    /// <summary>
    /// Writes a session back (a restarted Redis lost it) or extends it, with its stream's affinity, and notes
    /// the instance relaying it (<c>{p}owner:{id}</c>, ARGV[10]).
    /// </summary>
    private const string RefreshSessionScript = """
        local p, id, username, origin, stream = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        redis.call('SET', p..'session:'..id, ARGV[6], 'EX', ARGV[7])
        redis.call('SET', p..'username:'..username, id, 'EX', ARGV[7])
        redis.call('SET', p..'owner:'..id, ARGV[10], 'EX', ARGV[7])
        redis.call('ZADD', p..'origin-sessions:'..origin, ARGV[8], id)
        if redis.call('SET', p..'stream:'..stream, origin, 'NX', 'EX', ARGV[9]) then
          redis.call('SADD', p..'origin-streams:'..origin, stream)
        end
        return 1
        """;

    /// <summary>
    /// Removes a session and announces it. With ARGV[3] (an instance id), only if no other instance claimed the
    /// session (<c>{p}owner:{id}</c>): the removal of a session idle on that instance (returns 2 when claimed).
    /// </summary>
    private const string RemoveSessionScript = """
        local p, id = ARGV[1], ARGV[2]
        local json = redis.call('GET', p..'session:'..id)
        if not json then return 0 end
        if ARGV[3] then
          local owner = redis.call('GET', p..'owner:'..id)
          if owner and owner ~= ARGV[3] then return 2 end
        end
        local record = cjson.decode(json)
        redis.call('DEL', p..'session:'..id, p..'owner:'..id)
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
}
