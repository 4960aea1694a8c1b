using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.Tests.Common;
using SrsProxy.Tests.Registry;
using SrsProxy.Udp;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

/// <summary>The relay with the engine this platform uses (on Linux, the batching pumps).</summary>
public sealed class RtcRelayTests : RtcRelayTestsBase
{
    protected override bool Batched => OperatingSystem.IsLinux();
}

/// <summary>The same tests with the portable engine: one async receive loop per session socket.</summary>
public sealed class PortableRtcRelayTests : RtcRelayTestsBase
{
    protected override bool Batched => false;
}

/// <summary>
/// The relay on real loopback sockets. The "origin" here is a bare UDP socket, because these tests inject
/// what no real peer sends on purpose: forged STUN, unknown senders, datagrams at chosen moments.
/// </summary>
public abstract class RtcRelayTestsBase : IAsyncLifetime
{
    private const string Password = "origin-ice-password";
    private readonly FakeTimeProvider _time = new();
    private readonly Socket _origin = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CapturingLogger<RtcRelay> _log = new();
    private MemoryRegistry _registry = null!;
    private RtcRelay _relay = null!;

    protected abstract bool Batched { get; }

    public async Task InitializeAsync()
    {
        _origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = new ProxyOptions
        {
            WebRtcServer = new ListenAddress(IPAddress.Loopback, 0),
            RtcIdleTimeout = TimeSpan.FromSeconds(30),
            OriginTtl = TimeSpan.FromHours(1),
        };
        _registry = new MemoryRegistry(options, _time);
        await _registry.RegisterOriginAsync(MemoryRegistryTests.Origin("o") with { Id = "o" }, default);
        _relay = new RtcRelay(options, _registry, _time, _log) { Batched = Batched };
        await _relay.StartAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        _origin.Dispose();
    }

    private RtcSession Open(string username, string id = "0123456789abcdef0123456789abcdef", string originId = "o", string? originLocation = null)
    {
        var record = new RtcSessionRecord
        {
            Id = id, Kind = "whep", StreamKey = "__defaultVhost__/live/s", OriginId = originId,
            Username = username, IcePassword = Password, RelayHost = "127.0.0.1", RelayPort = ((IPEndPoint)_origin.LocalEndPoint!).Port,
            OriginLocation = originLocation,
        };
        _registry.AddRtcSessionAsync(record, default).AsTask().Wait();
        Assert.True(_relay.TryOpen(record, (IPEndPoint)_origin.LocalEndPoint!, out var session));
        return session;
    }

    private static Socket Player()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static Task<byte[]?> ReceiveAsync(Socket socket) => Datagrams.ReceiveAsync(socket);

    private static byte[] Rtp(byte marker) => [0x80, 0x60, 0, marker, 0, 0, 0, 1, 0, 0, 0, 2, marker, marker];

    [Fact]
    public async Task UnknownSenders_GetNothingBack_AndAreCountedByReason()
    {
        using var stranger = Player();
        stranger.SendTo(Rtp(1), _relay.LocalEndPoint);
        stranger.SendTo([23, 254, 253, 0, 0], _relay.LocalEndPoint);
        stranger.SendTo(StunMessageTests.Build("nobody:knows", Password), _relay.LocalEndPoint);
        stranger.SendTo([0x00, 0x01, 0x00], _relay.LocalEndPoint);
        stranger.SendTo([0x42, 0x42], _relay.LocalEndPoint);

        await Wait.UntilAsync(
            () => _relay.Counters.Drops(DropReason.UnknownAddress) + _relay.Counters.Drops(DropReason.UnknownUsername) + _relay.Counters.Drops(DropReason.Malformed) == 5,
            "the five datagrams dropped");
        await Datagrams.AssertNoneAsync(stranger, _origin);
        Assert.Equal(2, _relay.Counters.Drops(DropReason.UnknownAddress));
        Assert.Equal(1, _relay.Counters.Drops(DropReason.UnknownUsername));
        Assert.Equal(2, _relay.Counters.Drops(DropReason.Malformed));
    }

    [Fact]
    public async Task Session_StunThenMedia_RelaysBothWays()
    {
        var session = Open("ans:off");
        using var player = Player();
        var stun = StunMessageTests.Build("ans:off", Password);
        player.SendTo(stun, _relay.LocalEndPoint);
        Assert.Equal(stun, await ReceiveAsync(_origin));

        // The origin answers to the address it saw: the session's own socket, not the player's.
        var buffer = new byte[2048];
        EndPoint seen = new IPEndPoint(IPAddress.Any, 0);
        player.SendTo(Rtp(7), _relay.LocalEndPoint);
        var length = _origin.ReceiveFrom(buffer, ref seen);
        Assert.Equal(Rtp(7), buffer[..length]);
        Assert.NotEqual(((IPEndPoint)player.LocalEndPoint!).Port, ((IPEndPoint)seen).Port);

        _origin.SendTo(Rtp(9), seen);
        Assert.Equal(Rtp(9), await ReceiveAsync(player));
        await Wait.UntilAsync(() => Volatile.Read(ref session.PacketsToOrigin) == 2, "two datagrams counted to the origin");
    }

    /// <summary>Binds a player to the session; returns the address the origin sees for it.</summary>
    private EndPoint Bind(Socket player, string username)
    {
        player.SendTo(StunMessageTests.Build(username, Password), _relay.LocalEndPoint);
        var buffer = new byte[2048];
        EndPoint seen = new IPEndPoint(IPAddress.Any, 0);
        _origin.ReceiveTimeout = 2000;
        _origin.ReceiveFrom(buffer, ref seen);
        return seen;
    }

    [Fact]
    public async Task OriginBurst_ToManySessions_EachPlayerGetsItsOwnInOrder()
    {
        // An origin sends a stream's packet to every player at once, and more than one batch of them.
        const int players = 40, perPlayer = 25;
        var sockets = new List<Socket>();
        var seen = new List<EndPoint>();
        var sessions = new List<RtcSession>();
        try
        {
            for (var p = 0; p < players; p++)
            {
                sessions.Add(Open($"u{p}:off", $"{p:x32}"));
                var socket = Player();
                socket.ReceiveBufferSize = 1 << 20;
                sockets.Add(socket);
                seen.Add(Bind(socket, $"u{p}:off"));
            }

            for (var n = 0; n < perPlayer; n++)
            {
                for (var p = 0; p < players; p++)
                {
                    _origin.SendTo([0x80, 0x60, (byte)p, (byte)n, 1, 2, 3, 4], seen[p]);
                }
            }

            for (var p = 0; p < players; p++)
            {
                for (var n = 0; n < perPlayer; n++)
                {
                    var datagram = await ReceiveAsync(sockets[p]);
                    Assert.Equal(new byte[] { 0x80, 0x60, (byte)p, (byte)n, 1, 2, 3, 4 }, datagram);
                }
            }

            await Wait.UntilAsync(
                () => sessions.All(s => Volatile.Read(ref s.PacketsToClient) == perPlayer && Volatile.Read(ref s.BytesToClient) == perPlayer * 8),
                "every datagram counted to its session");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task OriginDatagramTooLarge_IsDroppedAndCounted_NextOneRelayed()
    {
        Open("ans:off");
        using var player = Player();
        var seen = Bind(player, "ans:off");

        _origin.SendTo(new byte[RtcRelay.MaxDatagramSize + 100], seen);
        _origin.SendTo(Rtp(3), seen);

        Assert.Equal(Rtp(3), await ReceiveAsync(player));
        Assert.Equal(1, _relay.Counters.Drops(DropReason.Malformed));
    }

    [Fact]
    public async Task PlayerDatagramTooLarge_IsDroppedAndCounted_NotRelayedCut()
    {
        Open("ans:off");
        using var player = Player();
        Bind(player, "ans:off");

        var large = new byte[RtcRelay.MaxDatagramSize + 100];
        large[0] = 0x80;
        player.SendTo(large, _relay.LocalEndPoint);
        player.SendTo(Rtp(6), _relay.LocalEndPoint);

        Assert.Equal(Rtp(6), await ReceiveAsync(_origin));
        Assert.Equal(1, _relay.Counters.Drops(DropReason.Malformed));
    }

    [Fact]
    public async Task ForgedStun_KnownUsernameWrongPassword_DoesNotStealSession()
    {
        Open("ans:off");
        using var player = Player();
        using var thief = Player();
        player.SendTo(StunMessageTests.Build("ans:off", Password), _relay.LocalEndPoint);
        Assert.NotNull(await ReceiveAsync(_origin));

        thief.SendTo(StunMessageTests.Build("ans:off", "guessed"), _relay.LocalEndPoint);
        thief.SendTo(StunMessageTests.Build("ans:off", null), _relay.LocalEndPoint);
        thief.SendTo(Rtp(1), _relay.LocalEndPoint);
        await Wait.UntilAsync(
            () => _relay.Counters.Drops(DropReason.BadIntegrity) == 2 && _relay.Counters.Drops(DropReason.UnknownAddress) == 1,
            "the thief's two requests and its media dropped");
        await Datagrams.AssertNoneAsync(_origin, thief);
        Assert.Equal(2, _relay.Counters.Drops(DropReason.BadIntegrity));
    }

    [Fact]
    public async Task StunResponse_GoesBackToRequester_MediaToNominatedAddress()
    {
        Open("ans:off");
        using var first = Player();
        using var second = Player();
        var buffer = new byte[2048];
        EndPoint seen = new IPEndPoint(IPAddress.Any, 0);

        var fromFirst = StunMessageTests.Build("ans:off", Password);
        first.SendTo(fromFirst, _relay.LocalEndPoint);
        _origin.ReceiveFrom(buffer, ref seen);
        var fromSecond = StunMessageTests.Build("ans:off", Password);
        second.SendTo(fromSecond, _relay.LocalEndPoint);
        _origin.ReceiveFrom(buffer, ref seen);

        // Success responses carry the request's transaction id (bytes 8..19).
        byte[] ResponseTo(byte[] request)
        {
            var response = StunMessageTests.Build(null, null, 0x0101);
            request.AsSpan(8, 12).CopyTo(response.AsSpan(8));
            return response;
        }

        _origin.SendTo(ResponseTo(fromFirst), seen);
        _origin.SendTo(ResponseTo(fromSecond), seen);
        Assert.Equal(ResponseTo(fromFirst), await ReceiveAsync(first));
        Assert.Equal(ResponseTo(fromSecond), await ReceiveAsync(second));

        // Media goes to the address that last sent media.
        second.SendTo(Rtp(3), _relay.LocalEndPoint);
        _origin.ReceiveFrom(buffer, ref seen);
        _origin.SendTo(Rtp(4), seen);
        Assert.Equal(Rtp(4), await ReceiveAsync(second));
        await Datagrams.AssertNoneAsync(first);
    }

    [Fact]
    public async Task Close_FreesTablesAndSocket_LaterDatagramsDropped()
    {
        var session = Open("ans:off");
        using var player = Player();
        player.SendTo(StunMessageTests.Build("ans:off", Password), _relay.LocalEndPoint);
        Assert.NotNull(await ReceiveAsync(_origin));
        var originSocket = session.OriginSocket!;

        Assert.True(await _relay.CloseAsync(session, "test"));
        Assert.False(await _relay.CloseAsync(session, "again"));
        Assert.Equal(0, _relay.SessionCount);
        Assert.Null(await _registry.GetRtcSessionAsync(session.Id, default));
        Assert.Null(session.OriginSocket);
        Assert.Throws<ObjectDisposedException>(() => originSocket.Send([1]));

        player.SendTo(Rtp(1), _relay.LocalEndPoint);
        player.SendTo(StunMessageTests.Build("ans:off", Password), _relay.LocalEndPoint);
        await Wait.UntilAsync(
            () => _relay.Counters.Drops(DropReason.UnknownAddress) == 1 && _relay.Counters.Drops(DropReason.UnknownUsername) == 1,
            "the media and the request for the closed session dropped");
        await Datagrams.AssertNoneAsync(_origin);
    }

    /// <summary>Sessions the relay closed, with the reason it logged, in order.</summary>
    private List<(string Id, string? Reason)> Closed() =>
        _log.Entries.Where(e => e.EventId.Id == 102).Select(e => (e.Field("SessionId")!, e.Field("Reason"))).ToList();

    /// <summary>The relay's own sweep timer runs on the fake clock: moving it past a sweep period sweeps.</summary>
    [Fact]
    public async Task Sweep_IdleSession_IsClosed_ActiveOneStays()
    {
        var idle = Open("idle:a", "00000000000000000000000000000001");
        var active = Open("busy:b", "00000000000000000000000000000002");
        using var player = Player();
        player.SendTo(StunMessageTests.Build("busy:b", Password), _relay.LocalEndPoint);
        Assert.NotNull(await ReceiveAsync(_origin));

        _time.Advance(TimeSpan.FromSeconds(20));
        player.SendTo(Rtp(1), _relay.LocalEndPoint);
        Assert.NotNull(await ReceiveAsync(_origin));
        _time.Advance(TimeSpan.FromSeconds(11));

        await Wait.UntilAsync(async () => await _registry.GetRtcSessionAsync(idle.Id, default) is null, "the idle session swept out of the registry");
        Assert.True(idle.IsClosed);
        Assert.Equal([(idle.Id, "idle")], Closed());
        Assert.False(active.IsClosed);
        Assert.Equal(active.Record, await _registry.GetRtcSessionAsync(active.Id, default));
        Assert.Equal(1, Assert.Single(await _registry.GetOriginsAsync(default)).ActiveSessions);
    }

    /// <summary>
    /// Regression (issue 12): the origin's datagrams touched the idle clock, so a player that vanished kept its
    /// session, and kept getting media, for as long as the origin streamed to it.
    /// </summary>
    [Fact]
    public async Task Sweep_OriginKeepsStreaming_PlayerSilent_ClosedAtIdleTimeout_OriginToldOnce()
    {
        var orphaned = new List<(RtcSessionRecord Record, string Reason)>();
        _relay.OriginSessionOrphaned += (record, reason) =>
        {
            lock (orphaned)
            {
                orphaned.Add((record, reason));
            }
        };
        var session = Open("ans:off", originLocation: "http://127.0.0.1:1985/rtc/v1/whep/?app=live&stream=s&session=x");
        using var player = Player();
        var seen = Bind(player, "ans:off");

        // The player goes silent; the origin sends media every 5 s of the clock, past the 30 s idle timeout.
        for (var i = 0; i < 6; i++)
        {
            _origin.SendTo(Rtp((byte)i), seen);
            Assert.Equal(Rtp((byte)i), await ReceiveAsync(player));
            _time.Advance(TimeSpan.FromSeconds(5));
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => session.IsClosed, "the session of the silent player closed");
        Assert.Equal([(session.Id, "idle")], Closed());
        Assert.Null(await _registry.GetRtcSessionAsync(session.Id, default));
        await Wait.UntilAsync(() => { lock (orphaned) { return orphaned.Count == 1; } }, "the origin told");
        Assert.Equal((session.Record, "idle"), Assert.Single(orphaned));

        // The origin's media after the close goes nowhere.
        _origin.SendTo(Rtp(9), seen);
        await Datagrams.AssertNoneAsync(player);
    }

    [Fact]
    public async Task Close_ByPlayersDelete_OriginNotToldAgain_ByProxyStopping_OriginTold()
    {
        var orphaned = 0;
        _relay.OriginSessionOrphaned += (_, _) => Interlocked.Increment(ref orphaned);
        var deleted = Open("a:b", "00000000000000000000000000000001", originLocation: "http://127.0.0.1:1985/s/1");
        var stopping = Open("c:d", "00000000000000000000000000000002", originLocation: "http://127.0.0.1:1985/s/2");

        // The player's own DELETE: signalling tells the origin itself.
        await _relay.CloseAsync(deleted, "deleted");
        Assert.Equal(0, Volatile.Read(ref orphaned));

        // The proxy stopping cuts the player: the origin must hear of it.
        await _relay.StopAsync(default);
        Assert.True(stopping.IsClosed);
        Assert.Equal(1, Volatile.Read(ref orphaned));
    }

    [Fact]
    public async Task Sweep_OriginStopsHeartbeating_ItsActiveSessionsClose()
    {
        var session = Open("ans:off");
        using var player = Player();
        player.SendTo(StunMessageTests.Build("ans:off", Password), _relay.LocalEndPoint);
        Assert.NotNull(await ReceiveAsync(_origin));

        // Media keeps flowing, a datagram every 25 s of the clock (the idle timeout is 30 s) while the sweeps
        // run, until the origin's last heartbeat is older than its TTL (1 h).
        var step = TimeSpan.FromSeconds(25);
        var elapsed = TimeSpan.Zero;
        while (elapsed + step < TimeSpan.FromHours(1))
        {
            _time.Advance(step);
            elapsed += step;
            player.SendTo(Rtp(1), _relay.LocalEndPoint);
            Assert.NotNull(await ReceiveAsync(_origin));
        }

        _time.Advance(TimeSpan.FromHours(1) - elapsed + TimeSpan.FromSeconds(1));

        await Wait.UntilAsync(() => session.IsClosed, "the session of the dead origin swept");
        Assert.Equal([(session.Id, "origin gone")], Closed());
        Assert.Equal(0, _relay.SessionCount);
    }

    [Fact]
    public async Task Sweep_OriginMissingFromRegistry_SessionStays()
    {
        // Regression: a restarted shared registry lists no origins until they heartbeat again; that is not
        // "origin gone", and closing every session then dropped all playback. A sweep that must change nothing
        // has no end to wait for, so this one is called, not left to the clock: when it returns, it ran.
        var session = Open("ans:off", originId: "not-listed");
        await _relay.SweepAsync(default);
        Assert.False(session.IsClosed);
    }

    [Fact]
    public void HandleFromPlayer_10000Datagrams_AllocatesNothing()
    {
        Open("ans:off");
        using var player = Player();
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var from = ((IPEndPoint)player.LocalEndPoint!).Serialize();
        _relay.HandleFromPlayer(StunMessageTests.Build("ans:off", Password), from);
        var rtp = Rtp(5);
        var stun = StunMessageTests.Build("ans:off", Password);
        for (var i = 0; i < 1000; i++)
        {
            _relay.HandleFromPlayer(rtp, from);
            _relay.HandleFromPlayer(stun, from);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            _relay.HandleFromPlayer(i % 100 == 0 ? stun : rtp, from);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
