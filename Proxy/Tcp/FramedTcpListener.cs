using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using SrsProxy.Configuration;

namespace SrsProxy.Tcp;

/// <summary>
/// A TCP listener whose connections carry RFC 4571 frames: an accept loop with a cap on connections, one
/// <see cref="FramedConnection"/> per accepted socket, and a sweep that closes connections whose first frame is
/// late (a half-open or trickling connection must not hold a place) or whose peer fell silent. What the frames
/// mean is the handler's.
/// </summary>
internal sealed partial class FramedTcpListener : IAsyncDisposable
{
    private readonly FramedListenerOptions _options;
    private readonly IFramedConnectionHandler _handler;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, FramedConnection> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _sweepLoop = Task.CompletedTask;
    private long _nextId;

    public FramedTcpListener(FramedListenerOptions options, IFramedConnectionHandler handler, TimeProvider time, ILogger logger)
    {
        _options = options;
        _handler = handler;
        _time = time;
        _logger = logger;
    }

    public TcpCounters Counters { get; } = new();

    /// <summary>Connections open now, authenticated or not.</summary>
    public int ConnectionCount => _connections.Count;

    public IEnumerable<FramedConnection> Connections => _connections.Values;

    public IPEndPoint LocalEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>Binds and starts accepting; throws <see cref="ListenerBindException"/> when the address is taken.</summary>
    public void Start(ListenAddress address)
    {
        var endPoint = address.ToEndPoint();
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            ListenerBindException.Bind(listener, address, _options.Setting);
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        LogListening(_options.Name, LocalEndPoint, _options.MaxConnections);
        var timer = new PeriodicTimer(_options.SweepPeriod, _time);
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, _stopping.Token));
        _sweepLoop = Task.Run(() => SweepLoopAsync(timer, _stopping.Token));
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                // Resource pressure: out of descriptors or memory. Back off rather than spin on the same error.
                LogAcceptPressure(_options.Name, e.SocketErrorCode);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref Counters.Accepted);
            if (_connections.Count >= _options.MaxConnections)
            {
                // Closed at once, unread and unanswered; the counter tells the operator, a log line per attempt would not.
                Counters.Closed(TcpCloseReason.TooManyConnections);
                client.Dispose();
                continue;
            }

            client.NoDelay = true;
            var remote = client.RemoteEndPoint?.Serialize();
            if (remote is null)
            {
                client.Dispose();
                continue;
            }

            var connection = new FramedConnection(Interlocked.Increment(ref _nextId), client, remote, _options.MaxPayload, _time.GetTimestamp());
            _connections[connection.Id] = connection;
            _ = Task.Run(() => ServeAsync(connection), CancellationToken.None);
        }
    }

    private async Task ServeAsync(FramedConnection connection)
    {
        try
        {
            await connection.RunAsync(_handler, _time);
        }
        catch (Exception e)
        {
            // A handler's bug ends this connection only.
            LogConnectionFailed(_options.Name, connection.Id, e);
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            Counters.Closed(connection.CloseReason);
            Counters.AddClosed(connection);
        }
    }

    private async Task SweepLoopAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        using var _ = timer;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Sweep();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Closes connections past their first-frame deadline and authenticated ones silent for the idle timeout.</summary>
    internal void Sweep()
    {
        foreach (var connection in _connections.Values)
        {
            if (!connection.IsAuthenticated)
            {
                if (_time.GetElapsedTime(connection.Opened) > _options.FirstFrameTimeout)
                {
                    connection.Close(TcpCloseReason.FirstFrameTimeout);
                }
            }
            else if (_time.GetElapsedTime(connection.LastFrame) > _options.IdleTimeout)
            {
                connection.Close(TcpCloseReason.Idle);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync();
        _listener?.Dispose();
        foreach (var connection in _connections.Values)
        {
            connection.Close(TcpCloseReason.Stopping);
        }

        await Task.WhenAll(_acceptLoop, _sweepLoop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // Each connection's task ends within a moment of its close; the stop does not wait on a stuck peer for long.
        for (var i = 0; i < 50 && !_connections.IsEmpty; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
        }

        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "{Name} listening on tcp {EndPoint} (RFC 4571 framing, at most {Max} connections)")]
    private partial void LogListening(string name, IPEndPoint endPoint, int max);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "{Name} tcp accept under resource pressure ({Error}): backing off")]
    private partial void LogAcceptPressure(string name, SocketError error);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "{Name} tcp connection {Id} failed")]
    private partial void LogConnectionFailed(string name, long id, Exception exception);
}
