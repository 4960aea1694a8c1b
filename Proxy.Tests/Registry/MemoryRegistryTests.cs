using Microsoft.Extensions.Time.Testing;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.Streams;

namespace SrsProxy.Tests.Registry;

public class MemoryRegistryTests
{
    private static readonly StreamUrl Live = new(StreamUrl.DefaultVhost, "live", "livestream");
    private readonly FakeTimeProvider _time = new();
    private readonly CancellationToken _ct = CancellationToken.None;

    private MemoryRegistry Create(ProxyOptions? options = null, int seed = 1) =>
        new(options ?? new ProxyOptions { OriginTtl = TimeSpan.FromSeconds(30) }, _time, new Random(seed));

    internal static OriginServer Origin(string name, int api = 1985) => new()
    {
        Id = OriginServer.MakeId(name, "svc", "1"),
        Ip = "127.0.0.1",
        Server = name,
        Service = "svc",
        Pid = "1",
        Rtmp = [new OriginEndpoint("", "", 1935)],
        Api = [new OriginEndpoint("", "", api)],
        Rtc = [new OriginEndpoint("udp", "0.0.0.0", 8000)],
    };

    private static RtcSessionRecord Session(string id, OriginServer origin, string stream = "__defaultVhost__/live/livestream") => new()
    {
        Id = id,
        Kind = "whep",
        StreamKey = stream,
        OriginId = origin.Id,
        Username = "a:" + id,
        IcePassword = "pwd",
        RelayHost = "127.0.0.1",
        RelayPort = 8000,
    };

    [Fact]
    public async Task PickOrigin_NoOrigin_ThrowsClearError()
    {
        var registry = Create();
        var e = await Assert.ThrowsAsync<NoOriginAvailableException>(() => registry.PickOriginAsync(Live, _ct).AsTask());
        Assert.Contains("no alive origin", e.Message);
    }

    [Fact]
    public async Task Origin_AliveWithinTtl_DeadAfter()
    {
        var registry = Create();
        Assert.True(await registry.RegisterOriginAsync(Origin("a"), _ct));
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.True((await registry.GetOriginsAsync(_ct)).Single().Alive);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False((await registry.GetOriginsAsync(_ct)).Single().Alive);
        await Assert.ThrowsAsync<NoOriginAvailableException>(() => registry.PickOriginAsync(Live, _ct).AsTask());

        // A heartbeat brings it back; it is not new.
        Assert.False(await registry.RegisterOriginAsync(Origin("a"), _ct));
        Assert.Equal("a", (await registry.PickOriginAsync(Live, _ct)).Server);
    }

    [Fact]
    public async Task PickOrigin_SticksWhileAlive_MovesWhenDead()
    {
        var registry = Create();
        await registry.RegisterOriginAsync(Origin("a"), _ct);
        await registry.RegisterOriginAsync(Origin("b"), _ct);
        var first = await registry.PickOriginAsync(Live, _ct);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(first.Id, (await registry.PickOriginAsync(Live, _ct)).Id);
        }

        // Only the other origin keeps heartbeating; the first dies.
        var other = first.Server == "a" ? "b" : "a";
        _time.Advance(TimeSpan.FromSeconds(20));
        await registry.RegisterOriginAsync(Origin(other), _ct);
        _time.Advance(TimeSpan.FromSeconds(20));
        var moved = await registry.PickOriginAsync(Live, _ct);
        Assert.Equal(other, moved.Server);
        Assert.Equal(moved.Id, (await registry.GetStreamsAsync(_ct)).Single().OriginId);

        // The first origin returns: the stream stays where it moved.
        await registry.RegisterOriginAsync(first, _ct);
        Assert.Equal(other, (await registry.PickOriginAsync(Live, _ct)).Server);
    }

    [Fact]
    public async Task ReportUnreachable_StreamMovesAtOnce_OriginStaysAlive_BackAfterQuarantine()
    {
        var registry = Create(new ProxyOptions { OriginTtl = TimeSpan.FromSeconds(30), OriginQuarantine = TimeSpan.FromSeconds(20) });
        await registry.RegisterOriginAsync(Origin("a"), _ct);
        var first = await registry.PickOriginAsync(Live, _ct);
        var session = Session("s1", first);
        await registry.AddRtcSessionAsync(session, _ct);
        await registry.RegisterOriginAsync(Origin("b"), _ct);

        await registry.ReportOriginUnreachableAsync(first.Id, _ct);

        // The stream moves on its next pick, long before the TTL would have told; heartbeats do not lift it.
        _time.Advance(TimeSpan.FromSeconds(5));
        await registry.RegisterOriginAsync(first, _ct);
        var moved = await registry.PickOriginAsync(Live, _ct);
        Assert.NotEqual(first.Id, moved.Id);
        Assert.Equal(moved.Id, (await registry.PickOriginAsync(new StreamUrl(StreamUrl.DefaultVhost, "live", "other"), _ct)).Id);

        // Still alive (its playing sessions stay), but not available; the operator sees until when.
        var state = (await registry.GetOriginsAsync(_ct)).Single(o => o.Origin.Id == first.Id);
        Assert.True(state.Alive);
        Assert.False(state.Available);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(15), state.UnreachableUntil);
        Assert.Equal(session, await registry.GetRtcSessionAsync("s1", _ct));

        // After the quarantine it takes new streams again (the fewest sessions rule: it has one, b has none).
        _time.Advance(TimeSpan.FromSeconds(16));
        await registry.RegisterOriginAsync(first, _ct);
        state = (await registry.GetOriginsAsync(_ct)).Single(o => o.Origin.Id == first.Id);
        Assert.True(state.Available);
        Assert.Null(state.UnreachableUntil);
        await registry.RemoveRtcSessionAsync("s1", _ct);
        await registry.ReportOriginUnreachableAsync(moved.Id, _ct);
        Assert.Equal(first.Id, (await registry.PickOriginAsync(Live, _ct)).Id);
    }

    [Fact]
    public async Task ReportUnreachable_OnlyOrigin_NoneAvailable_SaysWhy()
    {
        var registry = Create();
        await registry.RegisterOriginAsync(Origin("a"), _ct);
        await registry.ReportOriginUnreachableAsync(Origin("a").Id, _ct);
        var e = await Assert.ThrowsAsync<NoOriginAvailableException>(() => registry.PickOriginAsync(Live, _ct).AsTask());
        Assert.Contains("reachable", e.Message);
    }

    [Fact]
    public async Task PickOrigin_NewStream_GoesToFewestSessions()
    {
        var registry = Create();
        var a = Origin("a");
        var b = Origin("b");
        await registry.RegisterOriginAsync(a, _ct);
        await registry.RegisterOriginAsync(b, _ct);
        await registry.AddRtcSessionAsync(Session("1", a), _ct);
        await registry.AddRtcSessionAsync(Session("2", a), _ct);
        await registry.AddRtcSessionAsync(Session("3", b), _ct);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("b", (await registry.PickOriginAsync(new StreamUrl(StreamUrl.DefaultVhost, "live", $"s{i}"), _ct)).Server);
        }

        var origins = await registry.GetOriginsAsync(_ct);
        Assert.Equal(2, origins.Single(o => o.Origin.Server == "a").ActiveSessions);
    }

    [Fact]
    public async Task PickOrigin_EqualLoad_SpreadsStreams()
    {
        var registry = Create(seed: 42);
        await registry.RegisterOriginAsync(Origin("a"), _ct);
        await registry.RegisterOriginAsync(Origin("b"), _ct);
        await registry.RegisterOriginAsync(Origin("c"), _ct);
        var picks = new Dictionary<string, int>();
        for (var i = 0; i < 300; i++)
        {
            var server = (await registry.PickOriginAsync(new StreamUrl(StreamUrl.DefaultVhost, "live", $"s{i}"), _ct)).Server;
            picks[server] = picks.GetValueOrDefault(server) + 1;
        }

        Assert.Equal(3, picks.Count);
        Assert.All(picks.Values, count => Assert.InRange(count, 60, 140));
    }

    [Fact]
    public async Task Sessions_AddRemove_CountPerOrigin()
    {
        var registry = Create();
        var a = Origin("a");
        await registry.RegisterOriginAsync(a, _ct);
        await registry.PickOriginAsync(Live, _ct);
        await registry.AddRtcSessionAsync(Session("1", a), _ct);
        Assert.Equal(1, (await registry.GetStreamsAsync(_ct)).Single().ActiveSessions);
        Assert.True(await registry.RemoveRtcSessionAsync("1", _ct));
        Assert.False(await registry.RemoveRtcSessionAsync("1", _ct));
        Assert.Equal(0, (await registry.GetOriginsAsync(_ct)).Single().ActiveSessions);
        Assert.Null(await registry.GetRtcSessionAsync("1", _ct));
    }

    [Fact]
    public async Task AddRtcSession_AtCap_IsRefused()
    {
        var registry = Create(new ProxyOptions { MaxRtcSessions = 2 });
        var a = Origin("a");
        await registry.AddRtcSessionAsync(Session("1", a), _ct);
        await registry.AddRtcSessionAsync(Session("2", a), _ct);
        await Assert.ThrowsAsync<RegistryFullException>(() => registry.AddRtcSessionAsync(Session("3", a), _ct).AsTask());
    }

    [Fact]
    public async Task RegisterOrigin_AtCap_ForgetsLongDeadOriginsFirst()
    {
        var registry = Create(new ProxyOptions { MaxOrigins = 2, OriginTtl = TimeSpan.FromSeconds(10) });
        await registry.RegisterOriginAsync(Origin("a"), _ct);
        await registry.RegisterOriginAsync(Origin("b"), _ct);
        await Assert.ThrowsAsync<RegistryFullException>(() => registry.RegisterOriginAsync(Origin("c"), _ct).AsTask());
        _time.Advance(TimeSpan.FromSeconds(101));
        Assert.True(await registry.RegisterOriginAsync(Origin("c"), _ct));
        Assert.Equal(["c"], (await registry.GetOriginsAsync(_ct)).Select(o => o.Origin.Server));
    }

    [Fact]
    public async Task DefaultBackend_IsAlwaysAlive()
    {
        var registry = Create(new ProxyOptions { DefaultBackend = new DefaultBackendOptions("127.0.0.1", 1935, null, 1985, 8000, 10080) });
        _time.Advance(TimeSpan.FromHours(1));
        var origin = await registry.PickOriginAsync(Live, _ct);
        Assert.True(origin.IsStatic);
        Assert.Equal(new Uri("http://127.0.0.1:1985/"), origin.ApiBaseUri);
        Assert.Equal(8000, origin.RtcUdpPort);
    }

    [Fact]
    public async Task HlsIds_RenewedOnUse_ExpireWhenUnused()
    {
        var registry = Create();
        await registry.PutHlsOriginAsync("h1", "origin-x", TimeSpan.FromSeconds(60), _ct);
        _time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal("origin-x", await registry.GetHlsOriginAsync("h1", TimeSpan.FromSeconds(60), _ct));
        _time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal("origin-x", await registry.GetHlsOriginAsync("h1", TimeSpan.FromSeconds(60), _ct));
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Null(await registry.GetHlsOriginAsync("h1", TimeSpan.FromSeconds(60), _ct));
    }

    [Fact]
    public async Task Queries_AfterRegisterPickAndSession_ShowWhatWasStored()
    {
        var registry = Create();
        var a = Origin("a");
        await registry.RegisterOriginAsync(a, _ct);
        await registry.PickOriginAsync(Live, _ct);
        var session = Session("1", a);
        await registry.AddRtcSessionAsync(session, _ct);

        var origin = Assert.Single(await registry.GetOriginsAsync(_ct));
        Assert.Equal(a, origin.Origin);
        Assert.Equal(a.Api, origin.Origin.Api);
        Assert.Equal(1, origin.ActiveSessions);
        var stream = Assert.Single(await registry.GetStreamsAsync(_ct));
        Assert.Equal((Live.Key, a.Id, 1), (stream.StreamKey, stream.OriginId, stream.ActiveSessions));
        Assert.Equal(session, await registry.GetRtcSessionAsync("1", _ct));
        Assert.Equal(session, await registry.FindRtcSessionByUsernameAsync(session.Username, _ct));
    }
}
