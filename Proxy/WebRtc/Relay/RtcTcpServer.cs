using SrsProxy.Configuration;
using SrsProxy.Tcp;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// ICE-TCP for players whose UDP is blocked (RFC 6544, issue 14): a TCP listener on the WebRTC port whose
/// connections carry RFC 4571 frames. A connection's first frame must authenticate it as a session's player
/// (<see cref="RtcRelay.TryAcceptStream"/>); after that each frame goes to the origin as one UDP datagram through the
/// session's socket, and each datagram from the origin comes back as one frame when the player's path is this
/// connection. The origin sees a UDP player, as always. Starts after the relay, whose port it shares by default.
/// </summary>
internal sealed class RtcTcpServer : IHostedService, IAsyncDisposable, IFramedConnectionHandler
{
    private readonly ProxyOptions _options;
    private readonly RtcRelay _relay;
    private readonly FramedTcpListener? _listener;

    public RtcTcpServer(ProxyOptions options, RtcRelay relay, TimeProvider time, ILogger<RtcTcpServer> logger)
    {
        _options = options;
        _relay = relay;
        if (options.WebRtcTcpEnabled)
        {
            var sweep = TimeSpan.FromTicks(Math.Clamp(options.RtcTcpFirstFrameTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond));
            _listener = new FramedTcpListener(
                new FramedListenerOptions("rtc", "PROXY_WEBRTC_TCP_SERVER", RtcRelay.MaxDatagramSize, options.RtcTcpMaxConnections,
                    options.RtcTcpFirstFrameTimeout, options.RtcIdleTimeout, sweep),
                this, time, logger);
        }
    }

    /// <summary>The listener, or null when ICE-TCP is off.</summary>
    public FramedTcpListener? Listener => _listener;

    /// <summary>The port answers offer as the passive TCP candidate's, or null when ICE-TCP is off or not started.</summary>
    public int? Port => _listener is { LocalEndPoint.Port: > 0 } listener ? listener.LocalEndPoint.Port : null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Unset: the UDP relay's host and port number. When the UDP setting asked for any free port (0, as tests
        // do), TCP takes any free port of its own: the number the kernel gave UDP may be held over TCP by any
        // outgoing connection, and a bind that fails by chance would stop the proxy. Answers carry the TCP port
        // the listener bound either way.
        var port = _options.WebRtcServer.Port == 0 ? 0 : _relay.LocalEndPoint.Port;
        _listener?.Start(_options.WebRtcTcpServer ?? new ListenAddress(_options.WebRtcServer.Host, port));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
    }

    public bool OnFirstFrame(FramedConnection connection, ReadOnlySpan<byte> frame)
    {
        if (_relay.TryAcceptStream(frame, connection.Address) is not { } session)
        {
            return false;
        }

        connection.Tag = session;
        return true;
    }

    public bool OnFrame(FramedConnection connection, ReadOnlySpan<byte> frame) =>
        _relay.HandleFromStream((RtcSession)connection.Tag!, connection.Address, frame);

    public void OnClosed(FramedConnection connection)
    {
        if (connection.Tag is RtcSession session)
        {
            RtcRelay.StreamClosed(session, connection.Address);
        }
    }
}
