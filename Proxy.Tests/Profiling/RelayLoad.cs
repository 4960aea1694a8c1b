using System.Net;
using System.Net.Sockets;
using SrsProxy.Registry;
using SrsProxy.Tests.Registry;
using SrsProxy.Tests.WebRtc;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// UDP load through a running relay on real loopback sockets: one session opened on the relay, a player
/// that sends a STUN binding request and then RTP-like datagrams at a set rate, and an origin that echoes
/// every datagram back, so both directions of the relay work. Its threads are plain threads, so a profile
/// of the proxy tells them from the relay's own loops.
/// </summary>
internal sealed class RelayLoad : IAsyncDisposable
{
    private const string Password = "profiling-ice-password";
    private readonly Socket _origin = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _player = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _threads = [];
    private readonly List<int> _osThreadIds = [];
    private long _sent;
    private long _echoed;
    private long _received;

    private RelayLoad()
    {
    }

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Datagrams that made the whole round trip: player, relay, origin, relay, player.</summary>
    public long Received => Interlocked.Read(ref _received);

    public long Echoed => Interlocked.Read(ref _echoed);

    /// <summary>Opens a session on <paramref name="relay"/> (its origin registered as <paramref name="name"/>) and starts the load.</summary>
    /// <param name="relay">The running relay.</param>
    /// <param name="registry">The relay's registry, where the session's origin and record go.</param>
    /// <param name="perSecond">Datagrams per second from the player; 0 sends as fast as the socket takes them.</param>
    /// <param name="name">The origin's name and the session's ICE ufrag; distinct per load on one relay.</param>
    public static async Task<RelayLoad> StartAsync(RtcRelay relay, IProxyRegistry registry, int perSecond, string name = "load")
    {
        var load = new RelayLoad();
        load._origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        load._player.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        load._origin.ReceiveBufferSize = load._player.ReceiveBufferSize = 4 * 1024 * 1024;

        var origin = MemoryRegistryTests.Origin(name);
        await registry.RegisterOriginAsync(origin, default);
        var record = new RtcSessionRecord
        {
            Id = Guid.NewGuid().ToString("N"), Kind = "whep", StreamKey = $"__defaultVhost__/live/{name}", OriginId = origin.Id,
            Username = $"{name}:player", RelayHost = "127.0.0.1", RelayPort = ((IPEndPoint)load._origin.LocalEndPoint!).Port,
        };
        await registry.AddRtcSessionAsync(record, default);
        if (!relay.TryOpen(record, (IPEndPoint)load._origin.LocalEndPoint!, Password, out _))
        {
            throw new InvalidOperationException("relay refused the load session");
        }

        // The binding request binds the player's address to the session; media follows once it is through.
        var target = relay.LocalEndPoint;
        load._player.SendTo(StunMessageTests.Build(record.Username, Password), target);
        var buffer = new byte[2048];
        load._origin.ReceiveTimeout = 5000;
        load._origin.Receive(buffer);
        load._origin.ReceiveTimeout = 0;

        load.Run("load origin echo", load.EchoLoop);
        load.Run("load player receive", load.PlayerReceiveLoop);
        load.Run("load player send", () => load.SendLoop(target, perSecond));
        return load;
    }

    /// <summary>The OS thread ids of the load's own threads, to tell their CPU time from the relay's.</summary>
    public IReadOnlyCollection<int> OsThreadIds
    {
        get
        {
            lock (_osThreadIds)
            {
                return [.. _osThreadIds];
            }
        }
    }

    private void Run(string name, ThreadStart loop)
    {
        var thread = new Thread(() =>
        {
            if (File.Exists("/proc/thread-self/stat"))
            {
                var tid = int.Parse(File.ReadAllText("/proc/thread-self/stat").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                lock (_osThreadIds)
                {
                    _osThreadIds.Add(tid);
                }
            }

            loop();
        }) { IsBackground = true, Name = name };
        _threads.Add(thread);
        thread.Start();
    }

    private void SendLoop(EndPoint relay, int perSecond)
    {
        byte[] rtp = [0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, .. new byte[1000]];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!_stop.IsCancellationRequested)
        {
            if (perSecond > 0)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * perSecond);
                if (Sent >= due)
                {
                    Thread.Sleep(1);
                    continue;
                }
            }

            try
            {
                _player.SendTo(rtp, relay);
                Interlocked.Increment(ref _sent);
            }
            catch (SocketException)
            {
                // Loopback buffer full for a moment: the datagram is lost, as on a real network.
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void EchoLoop()
    {
        var buffer = new byte[4096];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var length = _origin.ReceiveFrom(buffer, ref from);
                _origin.SendTo(buffer.AsSpan(0, length), SocketFlags.None, from);
                Interlocked.Increment(ref _echoed);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void PlayerReceiveLoop()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _player.Receive(buffer);
                Interlocked.Increment(ref _received);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _origin.Dispose();
        _player.Dispose();
        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }

        _stop.Dispose();
    }
}
