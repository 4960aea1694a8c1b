using Microsoft.Extensions.Logging.Abstractions;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.Registry.Redis;
using SrsProxy.Streams;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Registry.Redis;

/// <summary>The Redis registry against a real redis-server, as two proxy instances would share it.</summary>
public sealed class RedisRegistryTests : IAsyncLifetime
{
    private static readonly StreamUrl Live = new(StreamUrl.DefaultVhost, "live", "livestream");
    private readonly List<RedisRegistry> _registries = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        _registries.ForEach(r => r.Dispose());
        await _redis.DisposeAsync();
    }

    private RedisRegistry Create(ProxyOptions? options = null, string prefix = "test:")
    {
        options ??= new ProxyOptions { OriginTtl = TimeSpan.FromSeconds(30), RtcIdleTimeout = TimeSpan.FromSeconds(30) };
        var store = RedisStore.Connect(options with { RedisPort = _redis.Port, RedisPrefix = prefix }, TimeSpan.FromSeconds(2));
        var registry = new RedisRegistry(store, options, TimeProvider.System, NullLogger<RedisRegistry>.Instance);
        _registries.Add(registry);
        return registry;
    }

    internal static RtcSessionRecord Session(string id, OriginServer origin, string username) => new()
    {
        Id = id, Kind = "whep", StreamKey = Live.Key, OriginId = origin.Id, Username = username,
        IcePassword = "pwd", RelayHost = "127.0.0.1", RelayPort = 8000, Created = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public async Task Origins_SeenByEveryInstance_DieAfterTtl()
    {
        var options = new ProxyOptions { OriginTtl = TimeSpan.FromSeconds(1) };
        var a = Create(options);
        var b = Create(options);
        Assert.True(await a.RegisterOriginAsync(MemoryRegistryTests.Origin("x"), default));
        Assert.False(await b.RegisterOriginAsync(MemoryRegistryTests.Origin("x"), default));
        var seen = Assert.Single(await b.GetOriginsAsync(default));
        Assert.True(seen.Alive);
        Assert.Equal(MemoryRegistryTests.Origin("x").Api, seen.Origin.Api);

        // Dead within the 2.2 s the test allowed when it slept that long: its alive key expires after the 1 s TTL.
        await Wait.UntilAsync(async () => !Assert.Single(await a.GetOriginsAsync(default)).Alive, "origin x dead at instance a", 2200);
        await Assert.ThrowsAsync<NoOriginAvailableException>(() => b.PickOriginAsync(Live, default).AsTask());
    }

    [Fact]
    public async Task ConcurrentFirstPick_AllInstancesAgree()
    {
        var a = Create();
        var b = Create();
        foreach (var name in new[] { "o1", "o2", "o3", "o4" })
        {
            await a.RegisterOriginAsync(MemoryRegistryTests.Origin(name), default);
        }

        for (var round = 0; round < 10; round++)
        {
            var stream = new StreamUrl(StreamUrl.DefaultVhost, "live", $"race{round}");
            var picks = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? a : b).PickOriginAsync(stream, default).AsTask()));
            Assert.Single(picks.Select(p => p.Id).Distinct());
        }
    }

    [Fact]
    public async Task Pick_SticksWhileAlive_FewestSessionsFirst()
    {
        var a = Create();
        var b = Create();
        var busy = MemoryRegistryTests.Origin("busy");
        await a.RegisterOriginAsync(busy, default);
        await a.RegisterOriginAsync(MemoryRegistryTests.Origin("idle"), default);
        await a.AddRtcSessionAsync(Session("s1", busy, "u1:p"), default);

        var first = await a.PickOriginAsync(Live, default);
        Assert.Equal("idle", first.Server);
        Assert.Equal(first.Id, (await b.PickOriginAsync(Live, default)).Id);
        Assert.Equal(first.Id, Assert.Single(await b.GetStreamsAsync(default)).OriginId);
        Assert.Equal(1, (await b.GetOriginsAsync(default)).Single(o => o.Origin.Server == "busy").ActiveSessions);
    }

    [Fact]
    public async Task Sessions_FoundByUsernameElsewhere_RemovalIsPublished()
    {
        var a = Create();
        var b = Create();
        var origin = MemoryRegistryTests.Origin("x");
        var removedAtA = new TaskCompletionSource<string>();
        a.RtcSessionRemoved += id => removedAtA.TrySetResult(id);

        await a.AddRtcSessionAsync(Session("s1", origin, "ans:off"), default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => b.AddRtcSessionAsync(Session("s2", origin, "ans:off"), default).AsTask());
        var found = await b.FindRtcSessionByUsernameAsync("ans:off", default);
        Assert.Equal(Session("s1", origin, "ans:off"), found);

        Assert.True(await b.RemoveRtcSessionAsync("s1", default));
        Assert.False(await b.RemoveRtcSessionAsync("s1", default));
        Assert.Equal("s1", await removedAtA.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Null(await a.FindRtcSessionByUsernameAsync("ans:off", default));
    }

    [Fact]
    public async Task ReportUnreachable_EveryInstanceMovesTheStream_UntilQuarantineEnds()
    {
        var options = new ProxyOptions { OriginTtl = TimeSpan.FromSeconds(30), OriginQuarantine = TimeSpan.FromSeconds(2) };
        var a = Create(options);
        var b = Create(options);
        var x = MemoryRegistryTests.Origin("x");
        var y = MemoryRegistryTests.Origin("y");
        await a.RegisterOriginAsync(x, default);
        Assert.Equal(x.Id, (await a.PickOriginAsync(Live, default)).Id);
        await a.RegisterOriginAsync(y, default);

        // A found x unreachable: B, which never tried it, sends the stream elsewhere at once.
        await a.ReportOriginUnreachableAsync(x.Id, default);
        Assert.Equal(y.Id, (await b.PickOriginAsync(Live, default)).Id);
        var listed = (await b.GetOriginsAsync(default)).Single(o => o.Origin.Id == x.Id);
        Assert.True(listed.Alive);
        Assert.NotNull(listed.UnreachableUntil);

        // The quarantine ends by itself.
        await Wait.UntilAsync(async () => (await b.GetOriginsAsync(default)).Single(o => o.Origin.Id == x.Id).Available, "x back after its quarantine", 5000);
    }

    [Fact]
    public async Task ReleaseIdle_OnlyWhenNoOtherInstanceClaimedIt()
    {
        var a = Create();
        var b = Create();
        var origin = MemoryRegistryTests.Origin("x");
        var moved = Session("s1", origin, "ans:off");
        var dead = Session("s2", origin, "ans:two");
        await a.AddRtcSessionAsync(moved, default);
        await a.AddRtcSessionAsync(dead, default);
        await a.RefreshRtcSessionsAsync([moved, dead], default);

        // B took s1 over (its player moved there); s2's player vanished.
        await b.RefreshRtcSessionsAsync([moved], default);
        Assert.False(await a.ReleaseIdleRtcSessionAsync("s1", default));
        Assert.Equal(moved, await b.GetRtcSessionAsync("s1", default));
        Assert.True(await a.ReleaseIdleRtcSessionAsync("s2", default));
        Assert.Null(await b.GetRtcSessionAsync("s2", default));

        // A session no instance ever refreshed is released by whoever finds it idle.
        var fresh = Session("s3", origin, "ans:three");
        await a.AddRtcSessionAsync(fresh, default);
        Assert.True(await b.ReleaseIdleRtcSessionAsync("s3", default));
    }

    [Fact]
    public async Task PlayerAddresses_FoundByAnotherInstance_GoneWithTheSession()
    {
        var a = Create();
        var b = Create();
        var origin = MemoryRegistryTests.Origin("x");
        var session = Session("s1", origin, "ans:off");
        await a.AddRtcSessionAsync(session, default);
        await a.PutPlayerAddressesAsync([new PlayerAddress("127.0.0.1:40000", "s1"), new PlayerAddress("[::1]:40001", "s1")], default);

        Assert.Equal(session, await b.FindRtcSessionByPlayerAddressAsync("127.0.0.1:40000", default));
        Assert.Equal(session, await b.FindRtcSessionByPlayerAddressAsync("[::1]:40001", default));
        Assert.Null(await b.FindRtcSessionByPlayerAddressAsync("127.0.0.1:40002", default));

        await a.RemoveRtcSessionAsync("s1", default);
        Assert.Null(await b.FindRtcSessionByPlayerAddressAsync("127.0.0.1:40000", default));
    }

    [Fact]
    public async Task UpdateRtcSession_IceRestart_MovesUsername()
    {
        var a = Create();
        var origin = MemoryRegistryTests.Origin("x");
        await a.AddRtcSessionAsync(Session("s1", origin, "old:off"), default);
        Assert.True(await a.UpdateRtcSessionAsync(Session("s1", origin, "new:off2"), default));
        Assert.Null(await a.FindRtcSessionByUsernameAsync("old:off", default));
        Assert.Equal("s1", (await a.FindRtcSessionByUsernameAsync("new:off2", default))!.Id);
    }

    [Fact]
    public async Task Refresh_AfterRedisRestart_RepublishesSessionsAndAffinity()
    {
        var a = Create();
        var origin = MemoryRegistryTests.Origin("x");
        await a.RegisterOriginAsync(origin, default);
        await a.PickOriginAsync(Live, default);
        var session = Session("s1", origin, "ans:off");
        await a.AddRtcSessionAsync(session, default);

        await _redis.StopAsync();
        await Assert.ThrowsAsync<RegistryUnavailableException>(() => a.GetRtcSessionAsync("s1", default).AsTask());
        await _redis.RestartAsync();

        // The client reconnects by itself; the relay's next refresh writes the session and its stream back.
        RtcSessionRecord? back = null;
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await a.RefreshRtcSessionsAsync([session], default);
                    back = await a.GetRtcSessionAsync("s1", default);
                    return back is not null;
                }
                catch (RegistryUnavailableException)
                {
                    return false;
                }
            },
            "a refresh through the reconnected client",
            30_000);

        Assert.Equal(session, back);
        Assert.Equal(origin.Id, Assert.Single(await a.GetStreamsAsync(default)).OriginId);
        Assert.Equal("s1", (await a.FindRtcSessionByUsernameAsync("ans:off", default))!.Id);
    }

    [Fact]
    public async Task HlsIds_SharedBetweenInstances_Expire()
    {
        var a = Create();
        var b = Create();
        await a.PutHlsOriginAsync("h1", "origin-x", TimeSpan.FromSeconds(1), default);
        Assert.Equal("origin-x", await b.GetHlsOriginAsync("h1", TimeSpan.FromSeconds(1), default));
        Assert.Null(await b.GetHlsOriginAsync("nope", TimeSpan.FromSeconds(1), default));
        // A sleep, not a wait: reading an HLS id renews it, so polling would keep it alive. Nothing touches it
        // for 2.2 s, twice its lifetime, and then it must be gone.
        await Task.Delay(2200);
        Assert.Null(await a.GetHlsOriginAsync("h1", TimeSpan.FromSeconds(1), default));
    }

    [Fact]
    public async Task Prefix_KeepsDeploymentsApart()
    {
        var first = Create(prefix: "one:");
        var second = Create(prefix: "two:");
        await first.RegisterOriginAsync(MemoryRegistryTests.Origin("x"), default);
        Assert.Empty(await second.GetOriginsAsync(default));
    }

    [Fact]
    public async Task Connect_NoRedisYet_CallsFailWithClearReason_ThenWorkOnceRedisStarts()
    {
        // A proxy started before its Redis (a host restarted as a whole) comes up, answers 503, and needs no
        // restart once Redis is there.
        var port = ExternalTools.FreeTcpPort();
        using var store = RedisStore.Connect(new ProxyOptions { RedisPort = port, RedisPrefix = "late:" }, TimeSpan.FromSeconds(1));
        Assert.False(store.IsConnected);
        var e = await Assert.ThrowsAsync<RegistryUnavailableException>(() => store.GetSessionAsync("s1"));
        Assert.Contains($"redis 127.0.0.1:{port} db 0 unavailable", e.Message);

        await using var late = await RedisServer.StartAsync(port);
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    return await store.ClaimStreamAsync("live/s", "nobody", TimeSpan.FromSeconds(5)) is null;
                }
                catch (RegistryUnavailableException)
                {
                    return false;
                }
            },
            "a call through the store once Redis listens",
            10_000);
        Assert.True(store.IsConnected);

        // The subscription asked for while disconnected was made on connecting: removals elsewhere are heard.
        var removed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        store.SessionRemoved += id => removed.TrySetResult(id);
        using var other = RedisStore.Connect(new ProxyOptions { RedisPort = port, RedisPrefix = "late:" }, TimeSpan.FromSeconds(1));
        Assert.True(await store.AddSessionAsync("s1", "a:b", "o", """{"username":"a:b","origin_id":"o"}""", TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow));
        Assert.True(await other.RemoveSessionAsync("s1"));
        Assert.Equal("s1", await removed.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
