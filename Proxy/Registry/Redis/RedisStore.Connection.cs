using System.Net;
using SrsProxy.Configuration;
using StackExchange.Redis;

namespace SrsProxy.Registry.Redis;

/// <summary>
/// How the store reaches Redis: one server (<c>PROXY_REDIS_HOST</c>), or the primary that the sentinels of
/// <c>PROXY_REDIS_SENTINELS</c> name, followed across failovers. Either way the store starts even when Redis
/// cannot be reached (every call then fails fast with <see cref="RegistryUnavailableException"/>, so signalling
/// answers 503) and connects by itself once it can: proxies and Redis restarted together come up in any order.
/// </summary>
internal sealed partial class RedisStore
{
    /// <summary>First pause between reconnection attempts; it doubles up to <see cref="MaxReconnectBackoff"/>.</summary>
    private const int ReconnectBackoffMilliseconds = 250;

    /// <summary>
    /// Longest pause between reconnection attempts: a restarted Redis is found within 2 s, and a Redis that
    /// stays away costs one attempt every 2 s per proxy, not a storm.
    /// </summary>
    private const int MaxReconnectBackoff = 2000;

    /// <summary>
    /// Seconds between pings on an idle connection: a Redis host that vanished without closing its sockets
    /// (power loss, partition) is noticed within a few seconds instead of the client's 60 s default.
    /// </summary>
    private const int KeepAliveSeconds = 5;

    /// <summary>The channel on which sentinels announce a failover: "name old-ip old-port new-ip new-port".</summary>
    private static readonly RedisChannel SwitchMasterChannel = RedisChannel.Literal("+switch-master");

    private readonly int _database;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;
    private readonly string? _serviceName;
    private readonly ConnectionMultiplexer? _sentinels;
    private readonly CancellationTokenSource _disposed = new();

    /// <summary>Released to make the sentinel follower ask the sentinels now (an announcement, a lost connection).</summary>
    private readonly SemaphoreSlim _recheck = new(0, 1);

    /// <summary>One look at the sentinels at a time: two would open two connections to one primary.</summary>
    private readonly SemaphoreSlim _following = new(1, 1);
    private readonly ProxyOptions _options;
    private ConnectionMultiplexer? _connection;
    private EndPoint? _primary;

    /// <summary>The primary named by the last +switch-master announcement: the newest word there is.</summary>
    private EndPoint? _announced;
    private string _notConnected = "not connected yet";

    private RedisStore(ProxyOptions options, TimeSpan timeout, ConnectionMultiplexer? sentinels)
    {
        _options = options;
        _database = options.RedisDb;
        _prefix = options.RedisPrefix;
        _timeout = timeout;
        _sentinels = sentinels;
        if (options.RedisSentinels.Count > 0)
        {
            _serviceName = options.RedisSentinelMaster;
            Describe = $"redis sentinel service {_serviceName} via {string.Join(",", options.RedisSentinels)} db {_database}";
        }
        else
        {
            Describe = $"redis {new HostPort(options.RedisHost, options.RedisPort)} db {_database}";
        }
    }

    /// <summary>Raised for every session removed through any instance.</summary>
    public event Action<string>? SessionRemoved;

    /// <summary>Raised when the connection drops (false) or comes back (true), with a reason.</summary>
    public event Action<bool, string>? ConnectionChanged;

    /// <summary>Raised when the store has moved to the primary the sentinels named after a failover (old, new).</summary>
    public event Action<string, string>? PrimarySwitched;

    /// <summary>The store's Redis as logs name it: the server, or the sentinels and service.</summary>
    public string Describe { get; }

    /// <summary>Whether commands can be sent now; false while Redis (or every sentinel) is unreachable.</summary>
    public bool IsConnected => Volatile.Read(ref _connection)?.IsConnected == true;

    /// <summary>
    /// Sets the connection up and returns at once if Redis answers, else after the connect timeout with a store
    /// that keeps trying in the background. Throws <see cref="RegistryUnavailableException"/> only for what no
    /// retry can fix (a configuration the client refuses).
    /// </summary>
    public static RedisStore Connect(ProxyOptions options, TimeSpan timeout)
    {
        try
        {
            if (options.RedisSentinels.Count == 0)
            {
                var configuration = DataNodeOptions(options, timeout);
                configuration.EndPoints.Add(options.RedisHost, options.RedisPort);
                var store = new RedisStore(options, timeout, sentinels: null);
                _ = store.Attach(ConnectionMultiplexer.Connect(configuration));
                return store;
            }

            var sentinelOptions = CommonOptions(timeout);
            foreach (var sentinel in options.RedisSentinels)
            {
                sentinelOptions.EndPoints.Add(sentinel.Host, sentinel.Port);
            }

            if (options.RedisSentinelPassword.Length > 0)
            {
                sentinelOptions.Password = options.RedisSentinelPassword;
            }

            var sentinelStore = new RedisStore(options, timeout, ConnectionMultiplexer.SentinelConnect(sentinelOptions));
            sentinelStore.FollowSentinels();
            return sentinelStore;
        }
        catch (Exception e) when (e is RedisException or ArgumentException)
        {
            throw new RegistryUnavailableException($"cannot set up the redis connection: {FirstLine(e.Message)}", e);
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        Interlocked.Exchange(ref _connection, null)?.Dispose();
        _sentinels?.Dispose();
    }

    /// <summary>The connection to the primary, or a failure the callers turn into 503.</summary>
    private ConnectionMultiplexer Connection => Volatile.Read(ref _connection)
        ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, Volatile.Read(ref _notConnected));

    private IDatabase Db => Connection.GetDatabase(_database);

    /// <summary>What a proxy that must survive Redis failures needs from the client, for sentinels and data nodes.</summary>
    private static ConfigurationOptions CommonOptions(TimeSpan timeout)
    {
        var milliseconds = (int)timeout.TotalMilliseconds;
        return new ConfigurationOptions
        {
            // Return a connection that keeps retrying rather than throwing when Redis is down at start.
            AbortOnConnectFail = false,
            ConnectTimeout = milliseconds,
            SyncTimeout = milliseconds,
            AsyncTimeout = milliseconds,
            ReconnectRetryPolicy = new ExponentialRetry(ReconnectBackoffMilliseconds, MaxReconnectBackoff),
            KeepAlive = KeepAliveSeconds,

            // While disconnected, fail at once instead of queueing: a queued command would run after its
            // caller had already been told 503 (an offer refused, yet its session written), and the caller
            // would wait the whole timeout for nothing.
            BacklogPolicy = BacklogPolicy.FailFast,
            ClientName = "srs-proxy",
        };
    }

    private static ConfigurationOptions DataNodeOptions(ProxyOptions options, TimeSpan timeout)
    {
        var configuration = CommonOptions(timeout);
        configuration.DefaultDatabase = options.RedisDb;
        if (options.RedisPassword.Length > 0)
        {
            configuration.Password = options.RedisPassword;
        }

        return configuration;
    }

    /// <summary>
    /// Follows the primary the sentinels name, in the background for the store's lifetime. The client's own
    /// Sentinel mode (<c>ServiceName</c>) is not used: it switches primaries with blocking waits on pool threads,
    /// which on a small machine starved the proxy during a failover (one offer took 6 s to get its 503). Here
    /// every step is asynchronous and bounded by the Redis timeout, and the connection is to the primary alone.
    /// </summary>
    private void FollowSentinels()
    {
        _sentinels!.GetSubscriber().Subscribe(SwitchMasterChannel, (_, message) =>
        {
            // "name old-ip old-port new-ip new-port": ask the sentinels now rather than at the next check.
            var fields = ((string?)message ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 5 && fields[0] == _serviceName &&
                int.TryParse(fields[4], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
            {
                Volatile.Write(ref _announced, IPAddress.TryParse(fields[3], out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(fields[3], port));
                Recheck();
            }
        }, CommandFlags.FireAndForget);
        _sentinels.ConnectionRestored += (_, _) => Recheck();

        // The first primary is looked for before Connect returns, so a proxy whose Redis is up starts connected.
        try
        {
            FollowOnceAsync().WaitAsync(_timeout * 2).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is TimeoutException or RedisException)
        {
            // The follower below keeps trying; until then calls fail with the reason.
            Volatile.Write(ref _notConnected, $"no primary for {_serviceName} yet: {FirstLine(e.Message)}");
        }

        _ = Task.Run(FollowLoopAsync);
    }

    private void Recheck()
    {
        try
        {
            _recheck.Release();
        }
        catch (SemaphoreFullException)
        {
            // A check is already due.
        }
    }

    /// <summary>
    /// Asks the sentinels each second while the primary is unreachable (an announcement may be missed: the
    /// sentinel it came through may be the one that died), at once on an announcement, and every 10 s otherwise,
    /// which also catches a primary demoted while its connection stayed up.
    /// </summary>
    private async Task FollowLoopAsync()
    {
        while (!_disposed.IsCancellationRequested)
        {
            try
            {
                await _recheck.WaitAsync(IsConnected ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(1), _disposed.Token);
                await FollowOnceAsync();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Whatever one look at the sentinels met, the next one may do better.
                Volatile.Write(ref _notConnected, $"no primary for {_serviceName} yet: {FirstLine(e.Message)}");
            }
        }
    }

    /// <summary>Connects to the primary the sentinels name, unless already connected to it.</summary>
    private async Task FollowOnceAsync()
    {
        await _following.WaitAsync(_disposed.Token);
        try
        {
            await FollowOnceLockedAsync();
        }
        finally
        {
            _following.Release();
        }
    }

    private async Task FollowOnceLockedAsync()
    {
        // Every sentinel is asked: right after a failover the ones that did not lead it still name the dead
        // primary for a moment. The announced primary comes first, the one just lost last.
        var answers = await Task.WhenAll(_sentinels!.GetServers().Where(s => s.IsConnected).Select(async sentinel =>
        {
            try
            {
                return await sentinel.SentinelGetMasterAddressByNameAsync(_serviceName!).WaitAsync(_timeout, _disposed.Token);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return null;
            }
        }));
        var previous = Volatile.Read(ref _primary);
        var candidates = answers.Prepend(Volatile.Read(ref _announced)).OfType<EndPoint>().Distinct()
            .OrderBy(c => c.Equals(previous) ? 1 : 0).ToList();
        if (candidates.Count == 0)
        {
            Volatile.Write(ref _notConnected, $"no sentinel of {string.Join(",", _options.RedisSentinels)} names a primary for {_serviceName}");
            return;
        }

        foreach (var candidate in candidates)
        {
            if (candidate.Equals(previous) && IsConnected)
            {
                return;
            }

            if (await TryConnectPrimaryAsync(candidate))
            {
                if (previous is not null && !candidate.Equals(previous))
                {
                    PrimarySwitched?.Invoke(Name(previous), Name(candidate));
                }
                else if (previous is null)
                {
                    ConnectionChanged?.Invoke(true, $"primary {Name(candidate)} found through the sentinels");
                }

                return;
            }
        }
    }

    /// <summary>Connects to <paramref name="named"/> and makes it the store's connection if it is a primary.</summary>
    private async Task<bool> TryConnectPrimaryAsync(EndPoint named)
    {
        var configuration = DataNodeOptions(_options, _timeout);
        configuration.EndPoints.Add(named);
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        try
        {
            // The sentinels' word is checked against the server's own (the Sentinel client guidelines): during a
            // failover a sentinel may still name the old primary, or a demoted one that came back as a replica.
            var role = await connection.GetServer(named).RoleAsync().WaitAsync(_timeout, _disposed.Token);
            if (role is not Role.Master)
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"{Name(named)} is a {role?.Value ?? "unknown"}, not the primary");
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
        {
            connection.Dispose();
            Volatile.Write(ref _notConnected, $"no primary for {_serviceName} yet: {FirstLine(e.Message)}");
            return false;
        }

        if (!Attach(connection))
        {
            return false;
        }

        Volatile.Write(ref _primary, named);
        return true;
    }

    private static string Name(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => new HostPort(ip.Address.ToString(), ip.Port).ToString(),
        DnsEndPoint dns => new HostPort(dns.Host, dns.Port).ToString(),
        _ => endPoint.ToString() ?? "",
    };

    /// <summary>Makes <paramref name="connection"/> the store's (the previous one is closed); false when disposed.</summary>
    private bool Attach(ConnectionMultiplexer connection)
    {
        // Fire and forget: the client records the subscription at once and makes (and remakes, after every
        // reconnection) the SUBSCRIBE itself, so a store that starts disconnected still hears removals once it
        // connects.
        connection.GetSubscriber().Subscribe(RedisChannel.Literal(_prefix + "session-removed"), (_, id) => SessionRemoved?.Invoke((string)id!), CommandFlags.FireAndForget);
        connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive && ReferenceEquals(connection, Volatile.Read(ref _connection)))
            {
                ConnectionChanged?.Invoke(false, $"{e.EndPoint}: {FirstLine(e.Exception?.Message ?? e.FailureType.ToString())}");
                if (_sentinels is not null)
                {
                    Recheck();
                }
            }
        };
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive && ReferenceEquals(connection, Volatile.Read(ref _connection)))
            {
                ConnectionChanged?.Invoke(true, $"{e.EndPoint} restored");
            }
        };
        if (_disposed.IsCancellationRequested)
        {
            connection.Dispose();
            return false;
        }

        Interlocked.Exchange(ref _connection, connection)?.Dispose();
        return true;
    }
}
