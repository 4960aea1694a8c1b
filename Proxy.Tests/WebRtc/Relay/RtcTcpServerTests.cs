using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.Tcp;
using SrsProxy.Tests.Common;
using SrsProxy.Tests.Registry;
using SrsProxy.Udp;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

/// <summary>
/// ICE-TCP on real loopback sockets: the player side is a bare TCP socket that writes RFC 4571 frames by hand (so
/// the tests can send what no browser does), the origin a bare UDP socket.
/// </summary>
public sealed class RtcTcpServerTests : IAsyncLifetime
{
    private const string Password = "origin-ice-password";
    private readonly FakeTimeProvider _time = new();
    private readonly Socket _origin = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly List<Socket> _sockets = [];
    private MemoryRegistry _registry = null!;
    private RtcRelay _relay = null!;
    private RtcTcpServer _tcp = null!;

    private FramedTcpListener Listener => _tcp.Listener!;

    public async Task InitializeAsync() => await StartAsync(new ProxyOptions());

    private async Task StartAsync(ProxyOptions baseOptions)
    {
        _origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = baseOptions with
        {
            WebRtcServer = new ListenAddress(IPAddress.Loopback, 0),
            RtcIdleTimeout = TimeSpan.FromSeconds(30),
            OriginTtl = TimeSpan.FromHours(1),
        };
        _registry = new MemoryRegistry(options, _time);
        await _registry.RegisterOriginAsync(MemoryRegistryTests.Origin("o") with { Id = "o" }, default);
        _relay = new RtcRelay(options, _registry, _time, new CapturingLogger<RtcRelay>());
        await _relay.StartAsync(default);
        _tcp = new RtcTcpServer(options, _relay, _time, new CapturingLogger<RtcTcpServer>());
        await _tcp.StartAsync(default);
    }

    public async Task DisposeAsync()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await _tcp.DisposeAsync();
        await _relay.DisposeAsync();
        _origin.Dispose();
    }

    private RtcSession Open(string username, string id = "0123456789abcdef0123456789abcdef")
    {
        var record = new RtcSessionRecord
        {
            Id = id, Kind = "whep", StreamKey = "__defaultVhost__/live/s", OriginId = "o",
            Username = username, IcePassword = Password, RelayHost = "127.0.0.1", RelayPort = ((IPEndPoint)_origin.LocalEndPoint!).Port,
        };
        _registry.AddRtcSessionAsync(record, default).AsTask().Wait();
        Assert.True(_relay.TryOpen(record, (IPEndPoint)_origin.LocalEndPoint!, out var session));
        return session;
    }

    private async Task<Socket> ConnectAsync(int receiveBuffer = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBuffer > 0)
        {
            socket.ReceiveBufferSize = receiveBuffer;
        }

        _sockets.Add(socket);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Listener.LocalEndPoint.Port));
        return socket;
    }

    private static void SendFrame(Socket socket, byte[] payload)
    {
        var frame = new byte[2 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)payload.Length);
        payload.CopyTo(frame, 2);
        socket.Send(frame);
    }

    /// <summary>The next frame, or null when the connection closed or nothing came within the time.</summary>
    private static async Task<byte[]?> ReadFrameAsync(Socket socket, int milliseconds = 2000)
    {
        using var timeout = new CancellationTokenSource(milliseconds);
        try
        {
            var header = new byte[2];
            if (!await ReadExactlyAsync(socket, header, timeout.Token))
            {
                return null;
            }

            var payload = new byte[BinaryPrimitives.ReadUInt16BigEndian(header)];
            return await ReadExactlyAsync(socket, payload, timeout.Token) ? payload : null;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    private static async Task<bool> ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                return false;
            }

            read += n;
        }

        return true;
    }

    /// <summary>True when the proxy closed the connection (end of stream or reset) without sending a byte first.</summary>
    private static async Task<bool> ClosedUnansweredAsync(Socket socket, int milliseconds = 5000)
    {
        using var timeout = new CancellationTokenSource(milliseconds);
        var buffer = new byte[64];
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static byte[] Rtp(byte marker, int length = 14)
    {
        var packet = new byte[length];
        packet[0] = 0x80;
        packet[1] = 0x60;
        packet[3] = marker;
        packet[^1] = marker;
        return packet;
    }

    /// <summary>A binding request with USE-CANDIDATE, as a controlling browser nominates with.</summary>
    private static byte[] Nominate(string username, out byte[] transaction)
    {
        transaction = new byte[StunMessage.TransactionIdLength];
        return StunBindingRequest.Create(username, Encoding.UTF8.GetBytes(Password), transaction);
    }

    /// <summary>A STUN binding success response for <paramref name="transaction"/>, as the origin answers.</summary>
    private static byte[] Response(ReadOnlySpan<byte> transaction)
    {
        var response = new byte[StunMessage.HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(response, 0x0101);
        BinaryPrimitives.WriteUInt32BigEndian(response.AsSpan(4), StunMessage.MagicCookie);
        transaction.CopyTo(response.AsSpan(8));
        return response;
    }

    /// <summary>What the origin received next, and from where (the session's socket).</summary>
    private async Task<(byte[] Datagram, EndPoint From)> OriginReceiveAsync()
    {
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(3000);
        var result = await _origin.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        return (buffer[..result.ReceivedBytes], result.RemoteEndPoint);
    }

    [Fact]
    public async Task StunFirst_ThenFrames_RelayedBothWaysAsUdpDatagrams()
    {
        Open("ans:off");
        var player = await ConnectAsync();
        var stun = Nominate("ans:off", out var transaction);
        SendFrame(player, stun);

        // The origin gets the request as one UDP datagram from the session's socket, and answers there.
        var (received, session) = await OriginReceiveAsync();
        Assert.Equal(stun, received);
        _origin.SendTo(Response(transaction), session);
        Assert.Equal(Response(transaction), await ReadFrameAsync(player));

        SendFrame(player, Rtp(7, 1200));
        var (media, from) = await OriginReceiveAsync();
        Assert.Equal(Rtp(7, 1200), media);
        Assert.Equal(session, from);
        _origin.SendTo(Rtp(9, 1300), session);
        Assert.Equal(Rtp(9, 1300), await ReadFrameAsync(player));

        // Several frames in one TCP segment, and one frame split over two: framing, not segments, decides.
        var a = Rtp(1);
        var b = Rtp(2);
        player.Send([0, (byte)a.Length, .. a, 0, (byte)b.Length, .. b[..5]]);
        await Task.Delay(50);
        player.Send(b[5..]);
        Assert.Equal(a, (await OriginReceiveAsync()).Datagram);
        Assert.Equal(b, (await OriginReceiveAsync()).Datagram);
    }

    [Fact]
    public async Task MediaFirst_ClosedUnanswered()
    {
        Open("ans:off");
        var player = await ConnectAsync();
        SendFrame(player, Rtp(1));
        Assert.True(await ClosedUnansweredAsync(player));
        await Wait.UntilAsync(() => Listener.Counters.ClosedFor(TcpCloseReason.BadFirstFrame) == 1, "the refusal counted");
        await Datagrams.AssertNoneAsync(_origin);
    }

    [Fact]
    public async Task WrongIntegrity_ClosedUnanswered()
    {
        Open("ans:off");
        var player = await ConnectAsync();
        SendFrame(player, StunMessageTests.Build("ans:off", "not-the-password"));
        Assert.True(await ClosedUnansweredAsync(player));
        await Wait.UntilAsync(() => _relay.Counters.Drops(DropReason.BadIntegrity) == 1, "the forgery counted");
        await Datagrams.AssertNoneAsync(_origin);
    }

    [Fact]
    public async Task UnknownUsernameOrNoIntegrity_ClosedUnanswered()
    {
        Open("ans:off");
        var stranger = await ConnectAsync();
        SendFrame(stranger, StunMessageTests.Build("nobody:knows", Password));
        var unsigned = await ConnectAsync();
        SendFrame(unsigned, StunMessageTests.Build("ans:off", null));
        Assert.True(await ClosedUnansweredAsync(stranger));
        Assert.True(await ClosedUnansweredAsync(unsigned));
        await Datagrams.AssertNoneAsync(_origin);
        Assert.Equal(2, Listener.Counters.ClosedFor(TcpCloseReason.BadFirstFrame));
    }

    [Theory]
    [InlineData(0xFFFF)]
    [InlineData(4097)]
    [InlineData(0)]
    public async Task BadLengthField_ClosedAtOnce_BeforeOrAfterAuthentication(int length)
    {
        Open("ans:off");
        var early = await ConnectAsync();
        early.Send([(byte)(length >> 8), (byte)length, 1, 2, 3]);
        Assert.True(await ClosedUnansweredAsync(early));

        var late = await ConnectAsync();
        SendFrame(late, Nominate("ans:off", out _));
        await OriginReceiveAsync();
        late.Send([(byte)(length >> 8), (byte)length, 0x80, 2, 3]);
        Assert.True(await ClosedUnansweredAsync(late));
        await Wait.UntilAsync(() => Listener.Counters.ClosedFor(TcpCloseReason.BadFrameLength) == 2, "both counted");
        await Datagrams.AssertNoneAsync(_origin);
    }

    [Fact]
    public async Task NoWholeFirstFrame_ClosedAtTheDeadline()
    {
        Open("ans:off");
        var silent = await ConnectAsync();
        var trickling = await ConnectAsync();
        trickling.Send([0x00, 0x40, 0x00]);
        await Wait.UntilAsync(() => Listener.ConnectionCount == 2, "both accepted");

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await ClosedUnansweredAsync(silent, 300));

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await ClosedUnansweredAsync(silent));
        Assert.True(await ClosedUnansweredAsync(trickling));

        // The player sees the close before the listener has counted it.
        await Wait.UntilAsync(() => Listener.Counters.ClosedFor(TcpCloseReason.FirstFrameTimeout) == 2, "both counted as first-frame timeouts");
    }

    [Fact]
    public async Task SlowReader_QueueIsBounded_DropsCounted_FramesStayWhole()
    {
        Open("ans:off");
        var player = await ConnectAsync(receiveBuffer: 4096);
        SendFrame(player, Nominate("ans:off", out _));
        var (_, session) = await OriginReceiveAsync();

        // The player reads nothing while the origin sends 4,000 datagrams of 1,200 bytes (4.8 MB).
        const int Count = 4000;
        for (var i = 0; i < Count; i++)
        {
            var packet = Rtp((byte)i, 1200);
            BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), i);
            _origin.SendTo(packet, session);
            if (i % 200 == 0)
            {
                await Task.Delay(5);
            }
        }

        var connection = Assert.Single(Listener.Connections);
        await Wait.UntilAsync(() => Volatile.Read(ref connection.QueueFullDrops) > 0, "frames dropped on the full queue");

        // What arrives is whole frames in order, with gaps where the queue was full.
        var last = -1;
        var frames = 0;
        while (await ReadFrameAsync(player, 500) is { } frame)
        {
            Assert.Equal(1200, frame.Length);
            var sequence = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4));
            Assert.True(sequence > last);
            last = sequence;
            frames++;
        }

        // Every datagram was delivered or counted as dropped, except any the kernel lost before the relay read them.
        Assert.True(frames > 0);
        Assert.True(frames + connection.QueueFullDrops <= Count);
        Assert.Equal(frames, connection.FramesOut);
        Assert.False(connection.IsClosed);
    }

    [Fact]
    public async Task Nomination_MovesMediaBetweenUdpAndTcp_StunResponsesFollowTheirRequest()
    {
        Open("ans:off");
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        udp.SendTo(StunMessageTests.Build("ans:off", Password), _relay.LocalEndPoint);
        var (_, session) = await OriginReceiveAsync();
        _origin.SendTo(Rtp(1), session);
        Assert.Equal(Rtp(1), await Datagrams.ReceiveAsync(udp));

        // Nominated over TCP: the media follows.
        var tcp = await ConnectAsync();
        SendFrame(tcp, Nominate("ans:off", out var tcpTransaction));
        await OriginReceiveAsync();
        _origin.SendTo(Rtp(2), session);
        Assert.Equal(Rtp(2), await ReadFrameAsync(tcp));

        // A UDP check's response goes back over UDP although media goes over TCP, and the TCP one's over TCP.
        var udpCheck = StunMessageTests.Build("ans:off", Password);
        udp.SendTo(udpCheck, _relay.LocalEndPoint);
        await OriginReceiveAsync();
        _origin.SendTo(Response(udpCheck.AsSpan(8, 12)), session);
        Assert.Equal(Response(udpCheck.AsSpan(8, 12)), await Datagrams.ReceiveAsync(udp));
        _origin.SendTo(Response(tcpTransaction), session);
        Assert.Equal(Response(tcpTransaction), await ReadFrameAsync(tcp));

        // Media from UDP again: back to UDP.
        udp.SendTo(Rtp(3), _relay.LocalEndPoint);
        await OriginReceiveAsync();
        _origin.SendTo(Rtp(4), session);
        Assert.Equal(Rtp(4), await Datagrams.ReceiveAsync(udp));
        Assert.Null(await ReadFrameAsync(tcp, 300));
    }

    [Fact]
    public async Task SessionCloses_ItsConnectionsClose()
    {
        var session = Open("ans:off");
        var player = await ConnectAsync();
        SendFrame(player, Nominate("ans:off", out _));
        await OriginReceiveAsync();
        Assert.Equal(1, session.StreamCount);

        await _relay.CloseAsync(session, "test");
        Assert.True(await ClosedUnansweredAsync(player));
        await Wait.UntilAsync(() => Listener.ConnectionCount == 0, "the connection gone");
    }

    [Fact]
    public async Task TcpFrames_KeepTheSessionAlive_SilenceEndsIt()
    {
        var session = Open("ans:off");
        var player = await ConnectAsync();
        SendFrame(player, Nominate("ans:off", out _));
        await OriginReceiveAsync();

        _time.Advance(TimeSpan.FromSeconds(20));
        SendFrame(player, Rtp(1));
        await OriginReceiveAsync();
        _time.Advance(TimeSpan.FromSeconds(20));
        await _relay.SweepAsync(default);
        Assert.False(session.IsClosed);

        _time.Advance(TimeSpan.FromSeconds(31));
        await _relay.SweepAsync(default);
        Assert.True(session.IsClosed);
        Assert.True(await ClosedUnansweredAsync(player));
    }

    [Fact]
    public async Task PerSessionCap_FifthConnectionClosed()
    {
        var session = Open("ans:off");
        var players = new List<Socket>();
        for (var i = 0; i < RtcRelay.MaxStreamsPerSession; i++)
        {
            var player = await ConnectAsync();
            SendFrame(player, Nominate("ans:off", out _));
            await OriginReceiveAsync();
            players.Add(player);
        }

        var extra = await ConnectAsync();
        SendFrame(extra, Nominate("ans:off", out _));
        Assert.True(await ClosedUnansweredAsync(extra));
        Assert.Equal(RtcRelay.MaxStreamsPerSession, session.StreamCount);
        Assert.All(players, p => Assert.True(p.Connected));
    }
}

/// <summary>The listener's total cap, with a proxy configured for two connections.</summary>
public sealed class RtcTcpServerCapTests
{
    [Fact]
    public async Task TotalCap_ConnectionsBeyondIt_ClosedAtAccept()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { RtcTcpMaxConnections = 2 });
        var tcp = proxy.Services.GetService(typeof(RtcTcpServer)) as RtcTcpServer;
        var port = tcp!.Listener!.LocalEndPoint.Port;
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await a.ConnectAsync(IPAddress.Loopback, port);
        await b.ConnectAsync(IPAddress.Loopback, port);
        await Wait.UntilAsync(() => tcp.Listener.ConnectionCount == 2, "two accepted");
        await c.ConnectAsync(IPAddress.Loopback, port);
        await Wait.UntilAsync(() => tcp.Listener.Counters.ClosedFor(TcpCloseReason.TooManyConnections) == 1, "the third refused");
        var buffer = new byte[8];
        using var timeout = new CancellationTokenSource(3000);
        Assert.Equal(0, await c.ReceiveAsync(buffer, SocketFlags.None, timeout.Token));
        Assert.Equal(2, tcp.Listener.ConnectionCount);

        // The metrics name the refusal.
        Assert.Contains("srs_proxy_rtc_tcp_closed_total{reason=\"too_many_connections\"} 1", await proxy.MetricsAsync());
    }
}
