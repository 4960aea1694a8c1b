using SrsProxy.Registry;

namespace SrsProxy.Grpc;

/// <summary>
/// Publishes origins coming alive or dying and streams moving to another origin, found by reading the registry
/// every <see cref="Interval"/> while someone watches, and comparing with the read before. Reading, rather than
/// hooking the registry's writes, sees what other instances sharing a Redis registry changed too, and costs
/// nothing while no one watches. A change undone within one interval (an origin that missed its TTL by less)
/// is not seen; the lists answer for the state itself.
/// </summary>
internal sealed partial class RegistryEventSource : BackgroundService
{
    private readonly IProxyRegistry _registry;
    private readonly EventHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger<RegistryEventSource> _logger;
    private Dictionary<string, bool>? _alive;
    private Dictionary<string, string>? _affinity;
    private bool _failing;

    public RegistryEventSource(IProxyRegistry registry, EventHub hub, TimeProvider time, ILogger<RegistryEventSource> logger)
    {
        _registry = registry;
        _hub = hub;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Defaults to 1 s: events come within about a second, and a shared registry is read twice a second at most
    /// per instance, only while someone watches.
    /// </summary>
    internal TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!_hub.HasWatchers)
                {
                    // The next watcher starts from what it lists, not from a state seen long before it came.
                    _alive = null;
                    _affinity = null;
                    continue;
                }

                await PollAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stops.
        }
    }

    internal async Task PollAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<OriginState> origins;
        IReadOnlyList<StreamState> streams;
        try
        {
            origins = await _registry.GetOriginsAsync(cancellationToken);
            streams = await _registry.GetStreamsAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Once per outage, not once a second: /readyz and the health service report the registry's state.
            if (!_failing)
            {
                _failing = true;
                LogRegistryFailed(e.Message);
            }

            return;
        }

        _failing = false;
        var now = _time.GetUtcNow();
        var alive = origins.ToDictionary(o => o.Origin.Id, o => o.Alive, StringComparer.Ordinal);
        var affinity = streams.ToDictionary(s => s.StreamKey, s => s.OriginId, StringComparer.Ordinal);
        if (_alive is { } before)
        {
            foreach (var (id, isAlive) in alive)
            {
                if (before.TryGetValue(id, out var wasAlive) ? wasAlive != isAlive : isAlive)
                {
                    _hub.Publish(new OriginStatusEvent(now, id, isAlive));
                }
            }

            // An origin the registry forgot (the table was full, or its entry expired in Redis) is dead to us.
            foreach (var (id, wasAlive) in before)
            {
                if (wasAlive && !alive.ContainsKey(id))
                {
                    _hub.Publish(new OriginStatusEvent(now, id, false));
                }
            }
        }

        if (_affinity is { } previous)
        {
            foreach (var (stream, origin) in affinity)
            {
                if (previous.TryGetValue(stream, out var from) && !string.Equals(from, origin, StringComparison.Ordinal))
                {
                    _hub.Publish(new StreamMovedEvent(now, stream, from, origin));
                }
            }
        }

        _alive = alive;
        _affinity = affinity;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Operator events: cannot read the registry ({Error}); origin and stream events wait until it answers")]
    private partial void LogRegistryFailed(string error);
}
