using System.Net.Sockets;
using SrsProxy.Configuration;
using SrsProxy.Registry;

namespace SrsProxy.Rtmp;

/// <summary>
/// The RTMP listener on <c>PROXY_RTMP_SERVER</c>: one task per connection, at most
/// <see cref="RtmpLimits.MaxConnections"/> at once; a session's failure closes that session only.
/// </summary>
internal sealed partial class RtmpServer : BackgroundService
{
    private readonly IProxyRegistry _registry;
    private readonly ILogger<RtmpServer> _logger;
    private readonly RtmpLimits _limits;
    private readonly Socket _listener;
    private int _connections;

    public RtmpServer(ProxyOptions options, IProxyRegistry registry, RtmpLimits limits, ILogger<RtmpServer> logger)
    {
        _registry = registry;
        _logger = logger;
        _limits = limits;
        var endPoint = options.RtmpServer.ToEndPoint();
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endPoint.Address.Equals(System.Net.IPAddress.IPv6Any))
        {
            _listener.DualMode = true;
        }

        ListenerBindException.Bind(_listener, options.RtmpServer, "PROXY_RTMP_SERVER");
        _listener.Listen(512);
    }

    public System.Net.IPEndPoint LocalEndPoint => (System.Net.IPEndPoint)_listener.LocalEndPoint!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogListening(LocalEndPoint);
        var sessions = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stoppingToken);
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

        _listener.Dispose();
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

    [LoggerMessage(EventId = 513, Level = LogLevel.Warning, Message = "RTMP {Remote}: refused, {Max} connections already (cap)")]
    private partial void LogRefused(string remote, int max);
}
