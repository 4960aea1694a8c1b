using SrsProxy.Configuration;

namespace SrsProxy.Tests.Common;

/// <summary>
/// A primary, one replica and three sentinels (quorum 2), all real redis-server processes on free loopback
/// ports, as a production Redis Sentinel setup in miniature. The sentinels' config files live in a temporary
/// directory that goes away with the cluster.
/// </summary>
internal sealed class RedisSentinelCluster : IAsyncDisposable
{
    public const string Service = "proxytest";

    private readonly string _directory;

    private RedisSentinelCluster(string directory, RedisServer primary, RedisServer replica, IReadOnlyList<RedisServer> sentinels)
    {
        _directory = directory;
        Primary = primary;
        Replica = replica;
        Sentinels = sentinels;
    }

    /// <summary>The primary at start; after <see cref="KillPrimaryAsync"/> the sentinels promote <see cref="Replica"/>.</summary>
    public RedisServer Primary { get; }

    public RedisServer Replica { get; }

    public IReadOnlyList<RedisServer> Sentinels { get; }

    /// <summary>The sentinels as <c>PROXY_REDIS_SENTINELS</c> lists them.</summary>
    public IReadOnlyList<HostPort> SentinelEndPoints => Sentinels.Select(s => new HostPort("127.0.0.1", s.Port)).ToList();

    /// <summary>Options that reach this cluster through its sentinels.</summary>
    public ProxyOptions Apply(ProxyOptions options) => options with
    {
        LoadBalancer = LoadBalancerType.Redis,
        RedisSentinels = SentinelEndPoints,
        RedisSentinelMaster = Service,

        // Where a proxy that ignored the sentinels would go: nothing listens there.
        RedisHost = "127.0.0.1",
        RedisPort = 1,
    };

    /// <summary>
    /// Starts the primary and the replica, waits until the replica is in sync, then starts the sentinels and
    /// waits until they see the replica and each other (a failover needs both).
    /// </summary>
    public static async Task<RedisSentinelCluster> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("redis-sentinel-").FullName;
        var started = new List<RedisServer>();
        try
        {
            var primary = await RedisServer.StartAsync();
            started.Add(primary);
            var replica = await RedisServer.StartReplicaAsync(primary.Port);
            started.Add(replica);
            await Wait.UntilAsync(async () => (await replica.CliAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
                "the replica in sync with the primary", 10_000);

            var sentinels = new List<RedisServer>();
            for (var i = 0; i < 3; i++)
            {
                var sentinel = await RedisServer.StartSentinelAsync(directory, Service, primary.Port);
                started.Add(sentinel);
                sentinels.Add(sentinel);
            }

            // Sentinels find each other through hello messages on the primary, every 2 s.
            await Wait.UntilAsync(
                async () =>
                {
                    foreach (var sentinel in sentinels)
                    {
                        if (!(await sentinel.CliAsync("SENTINEL", "CKQUORUM", Service)).StartsWith("OK 3 usable", StringComparison.Ordinal) ||
                            !(await sentinel.CliAsync("SENTINEL", "REPLICAS", Service)).Contains(replica.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
                        {
                            return false;
                        }
                    }

                    return true;
                },
                "three sentinels that know each other and the replica",
                20_000);
            return new RedisSentinelCluster(directory, primary, replica, sentinels);
        }
        catch
        {
            foreach (var server in started)
            {
                await server.DisposeAsync();
            }

            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>Kills the primary with SIGKILL, as a crashed Redis host.</summary>
    public Task KillPrimaryAsync() => Primary.StopAsync();

    /// <summary>
    /// Watches the replica until it reports itself primary, and returns <paramref name="clock"/>'s time then:
    /// the sentinels' share of a failover, told apart from the proxies' own.
    /// </summary>
    public async Task<long> PromotedAtAsync(System.Diagnostics.Stopwatch clock)
    {
        var deadline = clock.ElapsedMilliseconds + 30_000;
        while (clock.ElapsedMilliseconds < deadline)
        {
            if ((await Replica.CliAsync("ROLE")).StartsWith("master", StringComparison.Ordinal))
            {
                return clock.ElapsedMilliseconds;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("the sentinels did not promote the replica within 30 s");
    }

    /// <summary>Kills every sentinel, primary and replica: Redis gone altogether.</summary>
    public async Task KillAllAsync()
    {
        foreach (var server in Sentinels.Append(Primary).Append(Replica))
        {
            await server.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAllAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
