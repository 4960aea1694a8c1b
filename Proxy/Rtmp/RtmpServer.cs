using System.Net.Sockets;
using SrsProxy.Configuration;
using SrsProxy.Hosting;
using SrsProxy.Registry;

namespace SrsProxy.Rtmp;

/// <summary>
/// The RTMP listener on <c>PROXY_RTMP_SERVER</c>: one task per connection, at most
/// <see cref="RtmpLimits.MaxConnections"/> at once; a session's failure closes that session only. When the
/// instance drains, the listener closes (new clients are refused by the kernel) while the sessions go on
/// until the host stops this service.
/// </summary>
internal sealed partial class RtmpServer : BackgroundService
{
    private readonly IProxyRegistry _registry;
    private readonly ILogger<RtmpServer> _logger;
    private readonly RtmpLimits _limits;
    private readonly Socket _listener;
    private readonly DrainState? _drain;
    private int _connections;

    public RtmpServer(ProxyOptions options, IProxyRegistry registry, RtmpLimits limits, ILogger<RtmpServer> logger, DrainState? drain = null)
    {
        _registry = registry;
        _logger = logger;
        _limits = limits;
        _drain = drain;
        var endPoint = options.RtmpServer.ToEndPoint();
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endPoint.Address.Equals(System.Net.IPAddress.IPv6Any))
        {
            _listener.DualMode = true;
        }

        ListenerBindException.Bind(_listener, options.RtmpServer, "PROXY_RTMP_SERVER");
        _listener.Listen(512);
        LocalEndPoint = (System.Net.IPEndPoint)_listener.LocalEndPoint!;
    }

    /// <summary>The bound address; kept, because a draining server has closed its listener.</summary>
    public System.Net.IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections open now, from accept to close: what a drain waits for.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogListening(LocalEndPoint);
        var sessions = new List<Task>();
        using var accepting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _drain?.Started ?? CancellationToken.None);
        while (!accepting.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(accepting.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue;
            }

            if (Interlocked.Increment(ref _connections) > _limits.MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                LogRefused(client.RemoteEndPoint?.ToString() ?? "?", _limits.MaxConnections);
                client.Dispose();
                continue;
            }

            client.NoDelay = true;
            sessions.RemoveAll(t => t.IsCompleted);
            sessions.Add(Task.Run(() => ServeAsync(client, stoppingToken), CancellationToken.None));
        }

        // From here the kernel refuses new clients; the sessions keep the stopping token, not the drain's.
        _listener.Dispose();
        if (!stoppingToken.IsCancellationRequested)
        {
            LogDraining(sessions.Count(t => !t.IsCompleted));
        }

        await Task.WhenAll(sessions);
    }

    private async Task ServeAsync(Socket client, CancellationToken stoppingToken)
    {
        var session = new RtmpSession(client, _registry, _limits, _logger);
        try
        {
            await session.RunAsync(stoppingToken);
            LogEnded(session.Remote, "closed");
        }
        catch (Exception e) when (e is RtmpProtocolException or IOException or SocketException or EndOfStreamException or OperationCanceledException)
        {
            LogEnded(session.Remote, e is OperationCanceledException ? "timed out or stopping" : e.Message);
        }
        catch (Exception e)
        {
            LogFailed(session.Remote, e);
        }
        finally
        {
            await session.DisposeAsync();
            Interlocked.Decrement(ref _connections);
        }
    }

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Information, Message = "RTMP listening on tcp {EndPoint}")]
    private partial void LogListening(System.Net.IPEndPoint endPoint);

    [LoggerMessage(EventId = 511, Level = LogLevel.Information, Message = "RTMP {Remote}: ended ({Reason})")]
    private partial void LogEnded(string remote, string reason);

    [LoggerMessage(EventId = 512, Level = LogLevel.Error, Message = "RTMP {Remote}: failed")]
    private partial void LogFailed(string remote, Exception exception);

    [LoggerMessage(EventId = 514, Level = LogLevel.Information, Message = "RTMP draining: listener closed, {Sessions} sessions go on until they end or the grace deadline")]
    private partial void LogDraining(int sessions);

    [LoggerMessage(EventId = 513, Level = LogLevel.Warning, Message = "RTMP {Remote}: refused, {Max} connections already (cap)")]
    private partial void LogRefused(string remote, int max);
}
