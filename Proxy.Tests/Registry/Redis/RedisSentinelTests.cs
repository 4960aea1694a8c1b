using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.Registry.Redis;
using SrsProxy.Streams;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.Registry.Redis;

/// <summary>
/// The Redis registry through real sentinels (a primary, a replica, three sentinels), as two proxy instances
/// would share it, including the failover the sentinels exist for.
/// </summary>
public sealed class RedisSentinelTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly StreamUrl Live = new(StreamUrl.DefaultVhost, "live", "livestream");
    private readonly List<RedisRegistry> _registries = [];
    private RedisSentinelCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await RedisSentinelCluster.StartAsync();

    public async Task DisposeAsync()
    {
        _registries.ForEach(r => r.Dispose());
        await _cluster.DisposeAsync();
    }

    private RedisRegistry Create(CapturingLogger<RedisRegistry>? logger = null)
    {
        var options = _cluster.Apply(new ProxyOptions { RedisPrefix = "sentinel:", OriginTtl = TimeSpan.FromSeconds(30), RtcIdleTimeout = TimeSpan.FromSeconds(30) });
        var registry = new RedisRegistry(RedisStore.Connect(options, TimeSpan.FromSeconds(2)), options, TimeProvider.System,
            logger ?? (Microsoft.Extensions.Logging.ILogger<RedisRegistry>)NullLogger<RedisRegistry>.Instance);
        _registries.Add(registry);
        return registry;
    }

    private static RtcSessionRecord Session(string id, OriginServer origin, string username) => RedisRegistryTests.Session(id, origin, username);

    [Fact]
    public async Task ThroughSentinels_OriginPickAndSession_SharedByInstances()
    {
        var a = Create();
        var b = Create();
        var origin = MemoryRegistryTests.Origin("x");
        Assert.True(await a.RegisterOriginAsync(origin, default));
        Assert.Equal(origin.Id, (await b.PickOriginAsync(Live, default)).Id);

        var session = Session("s1", origin, "ans:off");
        await a.AddRtcSessionAsync(session, default);
        Assert.Equal(session, await b.FindRtcSessionByUsernameAsync("ans:off", default));
        Assert.Equal(session, await b.GetRtcSessionAsync("s1", default));
        Assert.Equal(origin.Id, Assert.Single(await b.GetStreamsAsync(default)).OriginId);

        // Written on the primary the sentinels name (the replica is read-only).
        Assert.Equal("s1", await _cluster.Primary.CliAsync("GET", "sentinel:username:ans:off"));
    }

    [Fact]
    public async Task PrimaryKilled_ReplicaPromoted_InstancesFollow_RemovalsStillPublished()
    {
        var logger = new CapturingLogger<RedisRegistry>();
        var a = Create(logger);
        var b = Create();
        var origin = MemoryRegistryTests.Origin("x");
        await a.RegisterOriginAsync(origin, default);
        var session = Session("s1", origin, "ans:off");
        await a.AddRtcSessionAsync(session, default);
        var removedAtA = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.RtcSessionRemoved += id => removedAtA.TrySetResult(id);

        var clock = Stopwatch.StartNew();
        await _cluster.KillPrimaryAsync();
        var promoted = _cluster.PromotedAtAsync(clock);

        // Writes work again once the sentinels promoted the replica and the client moved to it; the relay's
        // refresh is what writes a session that replication had not carried yet.
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await b.RefreshRtcSessionsAsync([session], default);
                    return true;
                }
                catch (RegistryUnavailableException)
                {
                    return false;
                }
            },
            "a write through the promoted replica",
            30_000);
        var recovered = clock.ElapsedMilliseconds;
        output.WriteLine($"primary killed (SIGKILL); the sentinels promoted the replica after {await promoted} ms; registry writes succeeded again after {recovered} ms");

        // The writes went to the promoted replica (the other sentinels learn of the promotion a moment later).
        Assert.StartsWith("master", await _cluster.Replica.CliAsync("ROLE"), StringComparison.Ordinal);

        // A follows on its own: it may still be moving when B's write succeeds, so it gets the same time B had.
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    return await a.GetRtcSessionAsync("s1", default) is not null;
                }
                catch (RegistryUnavailableException)
                {
                    return false;
                }
            },
            "instance A reading through the promoted replica",
            30_000);
        Assert.Equal(session, await a.GetRtcSessionAsync("s1", default));
        Assert.Equal(origin.Id, (await a.PickOriginAsync(Live, default)).Id);
        await Wait.UntilAsync(() => logger.Entries.Any(e => e.EventId.Id == 402 && e.Field("Primary") == $"127.0.0.1:{_cluster.Replica.Port}"), "the switch logged, naming the new primary");

        // Both instances resubscribed on the new primary: a removal through B reaches A.
        Assert.True(await b.RemoveRtcSessionAsync("s1", default));
        Assert.Equal("s1", await removedAtA.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task EverythingGone_CallsFailFast_NoHang()
    {
        var a = Create();
        await a.RegisterOriginAsync(MemoryRegistryTests.Origin("x"), default);

        await _cluster.KillAllAsync();
        for (var i = 0; i < 5; i++)
        {
            // Within the 2 s timeout and a little scheduling, never hanging: signalling must answer 503 at once.
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAsync<RegistryUnavailableException>(async () => await a.GetOriginsAsync(default));
            Assert.True(clock.ElapsedMilliseconds < 3000, $"call {i} took {clock.ElapsedMilliseconds} ms");
        }
    }

    [Fact]
    public async Task SentinelsDownAtStart_StoreStarts_FindsPrimaryWhenTheyReturn()
    {
        foreach (var sentinel in _cluster.Sentinels)
        {
            await sentinel.StopAsync();
        }

        var a = Create();
        var origin = MemoryRegistryTests.Origin("x");
        await Assert.ThrowsAsync<RegistryUnavailableException>(() => a.RegisterOriginAsync(origin, default).AsTask());

        foreach (var sentinel in _cluster.Sentinels)
        {
            await sentinel.RestartAsync();
        }

        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await a.RegisterOriginAsync(origin, default);
                    return true;
                }
                catch (RegistryUnavailableException)
                {
                    return false;
                }
            },
            "the registry through the returned sentinels",
            20_000);
        Assert.Equal(origin.Id, Assert.Single(await a.GetOriginsAsync(default)).Origin.Id);
    }
}
