using System.Net;

namespace SrsProxy.Udp;

/// <summary>
/// A protocol relay hosted on its own <see cref="UdpRelayEngine"/>: the engine starts with the host and stops
/// after the protocol has closed its sessions. WebRTC and SRT derive from it and supply the datagram rules.
/// </summary>
internal abstract class UdpRelayService : IHostedService, IAsyncDisposable, IUdpRelayHandler
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private UdpRelayEngine? _engine;
    private int _stopped;

    protected UdpRelayService(TimeProvider time, ILogger logger, IHostApplicationLifetime? lifetime)
    {
        _time = time;
        _logger = logger;
        _lifetime = lifetime;
    }

    public UdpCounters Counters { get; } = new();

    /// <summary>The engine for the origin-to-client half: batching pumps on Linux, else a loop per session.</summary>
    internal bool Batched { get; init; } = OperatingSystem.IsLinux();

    /// <summary>Started and not yet stopping: the socket is bound and datagrams flow (the health service asks).</summary>
    public bool IsRunning => _engine is not null && Volatile.Read(ref _stopped) == 0;

    /// <summary>The bound public address.</summary>
    public IPEndPoint LocalEndPoint => Engine.LocalEndPoint;

    /// <summary>The engine's pump threads; none before start or in the portable engine.</summary>
    public IReadOnlyList<UdpPump> Pumps => _engine?.Pumps ?? [];

    protected UdpRelayEngine Engine => _engine ?? throw new InvalidOperationException($"{GetType().Name} not started");

    /// <summary>The engine, or null before start: for closing sessions, which may happen at any time.</summary>
    protected UdpRelayEngine? EngineOrNull => _engine;

    /// <summary>Where and how the protocol's engine listens (<see cref="UdpEngineOptions.Batched"/> is set from <see cref="Batched"/>).</summary>
    protected abstract UdpEngineOptions CreateEngineOptions(bool batched);

    /// <summary>Closes every session of the protocol; the engine stops after.</summary>
    protected abstract ValueTask CloseAllAsync(string reason);

    public abstract void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from);

    public abstract Task SweepAsync(CancellationToken cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _engine = new UdpRelayEngine(CreateEngineOptions(Batched), Counters, _time, _logger, _lifetime);
        _engine.Start(this);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await CloseAllAsync("proxy stopping");
        if (_engine is { } engine)
        {
            await engine.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        if (_engine is { } engine)
        {
            await engine.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
