using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using SrsProxy.Udp;

namespace SrsProxy.Tests.Udp;

/// <summary>The engine with the batching pumps this platform uses (on Linux).</summary>
public sealed class UdpRelayEngineTests : UdpRelayEngineTestsBase
{
    protected override bool Batched => OperatingSystem.IsLinux();
}

/// <summary>The same tests with the portable engine: one async receive loop per session socket.</summary>
public sealed class PortableUdpRelayEngineTests : UdpRelayEngineTestsBase
{
    protected override bool Batched => false;
}

/// <summary>
/// The engine on real loopback sockets, with a minimal protocol: every datagram from the one client goes to
/// the one session, and the origin's datagrams go back to the client. Both relays (WebRTC, SRT) run on it.
/// </summary>
public abstract class UdpRelayEngineTestsBase : IAsyncLifetime, IUdpRelayHandler
{
    private const int MaxSize = 1500;
    private readonly Socket _origin = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _client = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly ConcurrentQueue<int> _handled = new();
    private UdpRelayEngine _engine = null!;
    private Session _session = null!;

    protected abstract bool Batched { get; }

    private sealed class Session(SocketAddress client) : UdpSession(0)
    {
        public override SocketAddress? DestinationOf(ReadOnlySpan<byte> datagram) => client;
    }

    public Task InitializeAsync()
    {
        _origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _client.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        // As the WebRTC relay runs by default: the pump sleeps after each wake-up's work.
        (_engine, _session) = Start(TimeSpan.FromMicroseconds(250));
        return Task.CompletedTask;
    }

    private (UdpRelayEngine Engine, Session Session) Start(TimeSpan coalesce)
    {
        var engine = new UdpRelayEngine(
            new UdpEngineOptions("test", "TEST_SERVER", new ListenAddress(IPAddress.Loopback, 0), MaxSize, 1 << 20, 1 << 20, TimeSpan.FromHours(1))
            {
                Batched = Batched,
                PumpCount = 1,
                Coalesce = coalesce,
            },
            new UdpCounters(),
            TimeProvider.System,
            NullLogger.Instance);
        engine.Start(this);
        var session = new Session(_client.LocalEndPoint!.Serialize());
        Assert.True(engine.TryAttach(session, (IPEndPoint)_origin.LocalEndPoint!, out _));
        return (engine, session);
    }

    public async Task DisposeAsync()
    {
        _engine.Detach(_session);
        await _engine.DisposeAsync();
        _origin.Dispose();
        _client.Dispose();
    }

    void IUdpRelayHandler.OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        _handled.Enqueue(datagram.Length);
        _engine.ForwardToOrigin(_session, datagram, 0);
    }

    Task IUdpRelayHandler.SweepAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static Task<byte[]?> ReceiveAsync(Socket socket) => Datagrams.ReceiveAsync(socket);

    [Fact]
    public async Task ClientDatagram_RelayedToOrigin_OriginsBackToClient()
    {
        _client.SendTo([1, 2, 3], _engine.LocalEndPoint);
        Assert.Equal([1, 2, 3], await ReceiveAsync(_origin));
        _origin.SendTo([4, 5], _session.OriginSocket!.LocalEndPoint!);
        Assert.Equal([4, 5], await ReceiveAsync(_client));
        await Wait.UntilAsync(() => Volatile.Read(ref _session.PacketsToClient) == 1 && _session.PacketsToOrigin == 1, "one datagram counted each way");
    }

    /// <summary>
    /// Many publishers' datagrams arrive faster than one read takes them (a batch is 32 on Linux), and the pump
    /// sleeps between wake-ups: every one must still reach the origin, in order.
    /// </summary>
    [Fact]
    public async Task ClientBurst_LargerThanABatch_AllRelayedInOrder()
    {
        const int Count = 500;

        // The test's origin reads one datagram at a time: room for the whole burst, so that only the relay can lose one.
        _origin.ReceiveBufferSize = 4 * 1024 * 1024;
        for (var i = 0; i < Count; i++)
        {
            _client.SendTo(BitConverter.GetBytes(i), _engine.LocalEndPoint);
        }

        for (var i = 0; i < Count; i++)
        {
            var datagram = await ReceiveAsync(_origin);
            Assert.NotNull(datagram);
            Assert.Equal(i, BitConverter.ToInt32(datagram));
        }
    }

    /// <summary>
    /// An origin's datagrams pile up in a session socket beyond what the pump reads of one socket in a wake-up
    /// (16), here because the pump sleeps 100 ms after each, and then no more come: every one must still reach the
    /// client, in order, without another datagram arriving to wake the pump. (An edge-triggered epoll set, tried
    /// for cheaper wake-ups, stranded the rest of such a pile; this test caught it.)
    /// </summary>
    [Fact]
    public async Task OriginBurst_LargerThanOneTurnReads_AllRelayedInOrder()
    {
        // 250 of 4 bytes fit the session socket's buffer even where net.core.rmem_max is Linux's default (512 do).
        const int Count = 250;
        var (engine, session) = Start(TimeSpan.FromMilliseconds(100));
        try
        {
            for (var i = 0; i < Count; i++)
            {
                _origin.SendTo(BitConverter.GetBytes(i), session.OriginSocket!.LocalEndPoint!);
            }

            for (var i = 0; i < Count; i++)
            {
                var datagram = await ReceiveAsync(_client);
                Assert.True(datagram is not null, $"datagram {i} of {Count} never reached the client");
                Assert.Equal(i, BitConverter.ToInt32(datagram));
            }
        }
        finally
        {
            engine.Detach(session);
            await engine.DisposeAsync();
        }
    }

    /// <summary>
    /// Regression (found in SRT, fixed for WebRTC in bc57be4): a datagram longer than the relay takes was
    /// received into a buffer of exactly the maximum, and the kernel truncates without an error, so it was
    /// relayed cut short. Now it is dropped whole and counted, both ways, and the next one goes through.
    /// </summary>
    [Fact]
    public async Task OversizedDatagram_EitherWay_DroppedWholeAndCounted_NextRelayed()
    {
        _client.SendTo(new byte[MaxSize + 1], _engine.LocalEndPoint);
        _client.SendTo(new byte[MaxSize], _engine.LocalEndPoint);
        Assert.Equal(MaxSize, (await ReceiveAsync(_origin))!.Length);
        Assert.DoesNotContain(MaxSize + 1, _handled);

        _origin.SendTo(new byte[MaxSize + 100], _session.OriginSocket!.LocalEndPoint!);
        _origin.SendTo(new byte[MaxSize], _session.OriginSocket!.LocalEndPoint!);
        Assert.Equal(MaxSize, (await ReceiveAsync(_client))!.Length);
        Assert.Equal(2, _engine.Counters.Drops(DropReason.Malformed));
        await Datagrams.AssertNoneAsync(_client);
    }

    /// <summary>
    /// Regression: the client-to-origin send was a blocking <c>Socket.Send</c> on the only receive loop, so one
    /// full origin socket buffer stalled every client's upstream. Sockets are non-blocking now: a full buffer
    /// is a counted <see cref="DropReason.SendFailed"/>.
    /// </summary>
    [Fact]
    public void OriginSocket_IsNonBlocking_SoAFullBufferCannotStallTheReceiveLoop()
    {
        Assert.False(_session.OriginSocket!.Blocking);
    }

    [Fact]
    public async Task Detach_ClosesTheOriginSocket_LaterDatagramsCountedNotRelayed()
    {
        var socket = _session.OriginSocket!;
        _engine.Detach(_session);
        Assert.Null(_session.OriginSocket);
        Assert.Throws<ObjectDisposedException>(() => socket.Send([1]));
        _client.SendTo([9], _engine.LocalEndPoint);
        await Wait.UntilAsync(() => _engine.Counters.Drops(DropReason.SessionClosed) == 1, "the datagram counted as for a closed session");
        await Datagrams.AssertNoneAsync(_origin);
    }

    [Fact]
    public async Task Start_AddressTaken_NamesTheSetting()
    {
        await using var other = new UdpRelayEngine(
            new UdpEngineOptions("other", "PROXY_SRT_SERVER", new ListenAddress(IPAddress.Loopback, _engine.LocalEndPoint.Port), MaxSize, 1 << 16, 1 << 16, TimeSpan.FromHours(1)),
            new UdpCounters(),
            TimeProvider.System,
            NullLogger.Instance);
        var e = Assert.Throws<ListenerBindException>(() => other.Start(this));
        Assert.StartsWith($"PROXY_SRT_SERVER=127.0.0.1:{_engine.LocalEndPoint.Port} (udp): ", e.Message);
    }
}
