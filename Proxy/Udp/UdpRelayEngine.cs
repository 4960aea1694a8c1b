using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SrsProxy.Configuration;

namespace SrsProxy.Udp;

/// <summary>
/// The UDP machinery WebRTC and SRT share: one public socket whose datagrams go to the protocol
/// (<see cref="IUdpRelayHandler"/>), a connected socket per session towards its origin, the oversize guard,
/// the sweep timer and the counters. On Linux, <see cref="UdpPump"/> threads move both directions with
/// epoll and <c>recvmmsg</c>/<c>sendmmsg</c> (the first pump reads the public socket too); elsewhere, one
/// async receive loop on the public socket and one per session. The protocol decides which session a datagram
/// belongs to and where the origin's datagrams go; the engine moves them.
/// Nothing is allocated, logged or awaited per datagram, and no send blocks: a full buffer is a counted drop.
/// </summary>
internal sealed partial class UdpRelayEngine : IAsyncDisposable
{
    private readonly UdpEngineOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _socket;
    private UdpPump[] _pumps = [];
    private int _nextPump;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _sweepLoop = Task.CompletedTask;

    public UdpRelayEngine(UdpEngineOptions options, UdpCounters counters, TimeProvider time, ILogger logger, IHostApplicationLifetime? lifetime = null)
    {
        _options = options;
        Counters = counters;
        _time = time;
        _logger = logger;
        _lifetime = lifetime;
    }

    public UdpCounters Counters { get; }

    /// <summary>The bound public address.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_socket ?? throw new InvalidOperationException($"{_options.Name} relay not started")).LocalEndPoint!;

    /// <summary>Binds the public socket and starts the loops; throws <see cref="ListenerBindException"/> if the address is taken.</summary>
    public void Start(IUdpRelayHandler handler)
    {
        var endPoint = _options.Address.ToEndPoint();
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.ReceiveBufferSize = _options.SocketBufferBytes;
            socket.SendBufferSize = _options.SocketBufferBytes;

            // Sends never wait: a full send buffer is a counted drop, not a stalled receive loop. Only
            // synchronous calls are made on it in the batched engine, so .NET's socket engine never polls it.
            socket.Blocking = false;
            ListenerBindException.Bind(socket, _options.Address, _options.Setting);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        if (_options.Batched)
        {
            _pumps = new UdpPump[_options.PumpCount];
            for (var i = 0; i < _pumps.Length; i++)
            {
                // The first pump also reads the public socket: .NET's socket engine then never polls it, and
                // the datagrams each way share the pump's wake-ups.
                var name = $"{_options.Name}-pump-{i}";
                _pumps[i] = new UdpPump(name, socket, _options.MaxDatagramSize, Counters, OnLoopFailed,
                    ingress: i == 0 ? handler : null, coalesce: _options.Coalesce,
                    priority: _options.Priority, priorityRefused: error => LogPriorityRefused(_options.Name, name, _options.Priority, Marshal.GetPInvokeErrorMessage(error)));
            }
        }
        else
        {
            _receiveLoop = Task.Run(() => ReceiveLoopAsync(socket, handler, _stopping.Token));
        }

        LogListening(_options.Name, LocalEndPoint, socket.ReceiveBufferSize, socket.SendBufferSize,
            _options.Batched
                ? $"{_pumps.Length} pump threads (epoll, recvmmsg/sendmmsg), coalescing {GoDuration.Format(_options.Coalesce)}, priority {_options.Priority.ToString().ToLowerInvariant()}"
                : "async receive loops");
        // The sweep's clock starts with the engine, not whenever the thread pool first runs the loop: a clock
        // moved right after start (a test's fake clock) would otherwise be missed and no sweep come.
        var sweepTimer = new PeriodicTimer(_options.SweepPeriod, _time);
        _sweepLoop = Task.Run(() => SweepLoopAsync(sweepTimer, handler, _stopping.Token));
    }

    /// <summary>The batched engine's pump threads (none in the portable engine), for their CPU and context-switch counts.</summary>
    public IReadOnlyList<UdpPump> Pumps => _pumps;

    /// <summary>Stops the loops and closes the public socket; sessions are the protocol's to close first.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        foreach (var pump in _pumps)
        {
            pump.Dispose();
        }

        _socket?.Dispose();
        await Task.WhenAll(_receiveLoop, _sweepLoop).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    /// <summary>
    /// Opens the session's socket towards <paramref name="origin"/> and starts relaying what the origin sends
    /// back. False, with the reason, when no socket can be had (out of descriptors or ports: the session
    /// stays unattached and the client's next datagram may retry) or the session closed meanwhile.
    /// </summary>
    public bool TryAttach(UdpSession session, IPEndPoint origin, out SocketError error)
    {
        error = SocketError.Success;
        if (session.IsClosed)
        {
            error = SocketError.Shutdown;
            return false;
        }

        Socket socket;
        try
        {
            socket = new Socket(origin.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
            {
                ReceiveBufferSize = _options.SessionSocketBufferBytes,

                // The client's datagrams are sent from the thread that reads the public socket, which serves every
                // session: a full buffer towards one origin must not stall them all.
                Blocking = false,
            };
        }
        catch (SocketException e)
        {
            error = e.SocketErrorCode;
            return false;
        }

        try
        {
            socket.Connect(origin);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            error = e.SocketErrorCode;
            return false;
        }

        if (!session.TryPublishOriginSocket(socket))
        {
            error = SocketError.Shutdown;
            return false;
        }

        if (_pumps.Length > 0)
        {
            var pump = _pumps[(int)((uint)Interlocked.Increment(ref _nextPump) % (uint)_pumps.Length)];
            session.Pump = pump;
            if (!pump.Add(session, socket))
            {
                // The kernel refused the epoll entry (out of memory), or the session closed meanwhile.
                Detach(session);
                error = SocketError.NoBufferSpaceAvailable;
                return false;
            }
        }
        else
        {
            _ = OriginLoopAsync(session, socket);
        }

        return true;
    }

    /// <summary>Stops relaying the session's origin socket and closes it; safe to call twice, and from any thread.</summary>
    public void Detach(UdpSession session)
    {
        if (session.TakeOriginSocket() is { } socket)
        {
            session.Pump?.Remove(session, socket);
            socket.Dispose();
        }
    }

    /// <summary>Sends a client's datagram to its origin without blocking; a refused send is counted, not waited for.</summary>
    public void ForwardToOrigin(UdpSession session, ReadOnlySpan<byte> datagram, long now)
    {
        if (TrySendToOrigin(session, datagram, now))
        {
            session.PacketsToOrigin++;
            session.BytesToOrigin += datagram.Length;
        }
    }

    /// <summary>
    /// Sends a datagram a client sent over a stream connection (ICE-TCP) to its origin, without blocking. Runs on
    /// the connection's task, beside the thread that reads the public socket and may send for the same session
    /// while ICE tries both transports: the kernel serialises the sends, and the counters are added atomically
    /// here (a plain increment there may still lose one of these, a rare miscount while both carry traffic).
    /// </summary>
    public void ForwardStreamToOrigin(UdpSession session, ReadOnlySpan<byte> datagram, long now)
    {
        if (TrySendToOrigin(session, datagram, now))
        {
            Interlocked.Increment(ref session.PacketsToOrigin);
            Interlocked.Add(ref session.BytesToOrigin, datagram.Length);
        }
    }

    /// <summary>The send both directions of a client share: the idle clock touched, a failure counted by reason.</summary>
    private bool TrySendToOrigin(UdpSession session, ReadOnlySpan<byte> datagram, long now)
    {
        var socket = session.OriginSocket;
        if (socket is null)
        {
            Counters.Drop(DropReason.SessionClosed);
            return false;
        }

        session.Touch(now);
        try
        {
            socket.Send(datagram, SocketFlags.None, out var error);
            if (error != SocketError.Success)
            {
                Counters.Drop(DropReason.SendFailed);
                return false;
            }
        }
        catch (ObjectDisposedException)
        {
            Counters.Drop(DropReason.SessionClosed);
            return false;
        }

        return true;
    }

    /// <summary>Sends a datagram of the protocol's own (a handshake answer) to a client, without blocking.</summary>
    public bool SendToClient(ReadOnlySpan<byte> datagram, SocketAddress to)
    {
        var socket = _socket;
        if (socket is null)
        {
            return false;
        }

        try
        {
            socket.SendTo(datagram, SocketFlags.None, to);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Counters.Drop(DropReason.SendFailed);
            return false;
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, IUdpRelayHandler handler, CancellationToken cancellationToken)
    {
        // One pinned buffer and one address object for the life of the loop: nothing per datagram.
        // One byte more than the largest datagram taken: a longer one fills it, and is dropped whole rather than
        // relayed cut short (the kernel truncates without an error).
        var buffer = GC.AllocateUninitializedArray<byte>(_options.MaxDatagramSize + 1, pinned: true);
        var from = new SocketAddress(socket.AddressFamily);
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (IsPerDatagramError(e.SocketErrorCode))
            {
                // An ICMP error for an earlier send, or an oversized datagram: about one datagram, not the socket.
                Counters.Drop(DropReason.Malformed);
                continue;
            }
            catch (SocketException e) when (cancellationToken.IsCancellationRequested || e.SocketErrorCode == SocketError.OperationAborted)
            {
                break;
            }
            catch (Exception e)
            {
                OnLoopFailed(e);
                return;
            }

            if (length > _options.MaxDatagramSize)
            {
                Counters.Drop(DropReason.Malformed);
                continue;
            }

            try
            {
                handler.OnDatagram(buffer.AsSpan(0, length), from);
            }
            catch (Exception e)
            {
                OnLoopFailed(e);
                return;
            }
        }
    }

    /// <summary>Errors about one datagram (an ICMP answer to an earlier send, an oversized datagram), not about the socket.</summary>
    internal static bool IsPerDatagramError(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize
            or SocketError.HostUnreachable or SocketError.NetworkUnreachable;

    private async Task SweepLoopAsync(PeriodicTimer timer, IUdpRelayHandler handler, CancellationToken cancellationToken)
    {
        using var _ = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await handler.SweepAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            OnLoopFailed(e);
        }
    }

    /// <summary>The public socket's loop, a pump or the sweep failed: without it the relay is down, so the proxy stops.</summary>
    private void OnLoopFailed(Exception e)
    {
        LogLoopFailed(_options.Name, e);
        Environment.ExitCode = 1;
        _lifetime?.StopApplication();
    }
}
