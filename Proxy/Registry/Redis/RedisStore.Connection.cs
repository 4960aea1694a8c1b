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
    private ConnectionMultiplexer? _connection;
    private string _notConnected = "not connected yet";

    private RedisStore(ProxyOptions options, TimeSpan timeout, ConnectionMultiplexer? sentinels)
    {
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

    /// <summary>Raised when the sentinels announce a new primary (old, new); the client then moves to it.</summary>
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
                store.Attach(ConnectionMultiplexer.Connect(configuration));
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
            sentinelStore.FollowSentinels(options);
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
        Volatile.Read(ref _connection)?.Dispose();
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

        if (options.RedisSentinels.Count > 0)
        {
            configuration.ServiceName = options.RedisSentinelMaster;
        }

        return configuration;
    }

    /// <summary>
    /// Asks the sentinels for the primary and connects to it; the client then follows every failover they
    /// announce (and polls them each second while the primary is unreachable, in case an announcement is
    /// missed). When no sentinel knows the primary yet, keeps asking in the background.
    /// </summary>
    private void FollowSentinels(ProxyOptions options)
    {
        _sentinels!.GetSubscriber().Subscribe(SwitchMasterChannel, (_, message) =>
        {
            var fields = ((string?)message ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 5 && fields[0] == _serviceName)
            {
                PrimarySwitched?.Invoke(new HostPort(fields[1], int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture)).ToString(),
                    new HostPort(fields[3], int.Parse(fields[4], System.Globalization.CultureInfo.InvariantCulture)).ToString());
            }
        }, CommandFlags.FireAndForget);

        if (!TryAttachPrimary(options))
        {
            _ = Task.Run(() => AttachPrimaryLaterAsync(options));
        }
    }

    private bool TryAttachPrimary(ProxyOptions options)
    {
        try
        {
            Attach(_sentinels!.GetSentinelMasterConnection(DataNodeOptions(options, _timeout)));
            return true;
        }
        catch (RedisException e)
        {
            Volatile.Write(ref _notConnected, $"no primary for {_serviceName} from the sentinels yet: {FirstLine(e.Message)}");
            return false;
        }
    }

    private async Task AttachPrimaryLaterAsync(ProxyOptions options)
    {
        var pause = ReconnectBackoffMilliseconds;
        try
        {
            while (!_disposed.IsCancellationRequested)
            {
                await Task.Delay(pause, _disposed.Token);
                if (TryAttachPrimary(options))
                {
                    ConnectionChanged?.Invoke(true, "primary found through the sentinels");
                    return;
                }

                pause = Math.Min(pause * 2, MaxReconnectBackoff);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed while waiting: nothing to attach any more.
        }
        catch (ObjectDisposedException)
        {
            // Disposed while asking the sentinels.
        }
    }

    private void Attach(ConnectionMultiplexer connection)
    {
        // Fire and forget: the client records the subscription at once and makes (and remakes, after every
        // reconnection or primary switch) the SUBSCRIBE itself, so a store that starts disconnected still hears
        // removals once it connects.
        connection.GetSubscriber().Subscribe(RedisChannel.Literal(_prefix + "session-removed"), (_, id) => SessionRemoved?.Invoke((string)id!), CommandFlags.FireAndForget);
        connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionChanged?.Invoke(false, $"{e.EndPoint}: {FirstLine(e.Exception?.Message ?? e.FailureType.ToString())}");
            }
        };
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionChanged?.Invoke(true, $"{e.EndPoint} restored");
            }
        };
        if (_disposed.IsCancellationRequested)
        {
            connection.Dispose();
            return;
        }

        Volatile.Write(ref _connection, connection);
    }
}
