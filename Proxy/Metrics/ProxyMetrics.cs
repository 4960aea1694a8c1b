using System.Diagnostics.Metrics;
using SrsProxy.Hosting;
using SrsProxy.Registry;
using SrsProxy.Tcp;
using SrsProxy.Udp;
using SrsProxy.WebRtc.Relay;
using SrsProxy.WebRtc.Signalling;

namespace SrsProxy.Metrics;

/// <summary>
/// The proxy's instruments, on System.Diagnostics.Metrics under the meter <see cref="MeterName"/>: what
/// <c>dotnet-counters monitor --counters SrsProxy</c>, an OpenTelemetry exporter and <c>GET /metrics</c> all
/// read. The relay's per-datagram counts stay plain fields on its sessions; the observable instruments read
/// them only when someone collects, so the datagram path pays nothing for being measured.
/// </summary>
internal sealed class ProxyMetrics : IDisposable
{
    public const string MeterName = "SrsProxy";

    /// <summary>How stale the origin counts may be when a collector other than /metrics reads them.</summary>
    private static readonly TimeSpan OriginCountsMaxAge = TimeSpan.FromSeconds(5);

    private readonly RtcRelay _relay;
    private readonly IProxyRegistry _registry;
    private readonly TimeProvider _time;
    private readonly Counter<long> _signalling;
    private int _originsAlive;
    private int _originsDead;
    private int _registryAvailable = 1;
    private long _originsRead = long.MinValue;
    private int _refreshing;

    public ProxyMetrics(IMeterFactory meters, RtcRelay relay, IProxyRegistry registry, TimeProvider time, OriginSessionCloser? closer = null, DrainState? drain = null, RtcTcpServer? tcp = null)
    {
        _relay = relay;
        _registry = registry;
        _time = time;
        Meter = meters.Create(MeterName);

        Meter.CreateObservableCounter("srs_proxy.rtc.datagrams", () => Traffic(bytes: false), "{datagram}",
            "Datagrams relayed by the WebRTC relay, by direction.");
        Meter.CreateObservableCounter("srs_proxy.rtc.bytes", () => Traffic(bytes: true), "By",
            "Bytes relayed by the WebRTC relay, by direction.");
        Meter.CreateObservableCounter("srs_proxy.rtc.dropped", Drops, "{datagram}",
            "Datagrams the WebRTC relay dropped, by reason.");
        Meter.CreateObservableUpDownCounter("srs_proxy.rtc.sessions", Sessions, "{session}",
            "WebRTC sessions in the relay, by state.");
        Meter.CreateObservableCounter("srs_proxy.rtc.sessions.opened", () => Volatile.Read(ref relay.Counters.SessionsOpened), "{session}",
            "WebRTC sessions opened.");
        Meter.CreateObservableCounter("srs_proxy.rtc.sessions.closed", () => Volatile.Read(ref relay.Counters.SessionsClosed), "{session}",
            "WebRTC sessions closed.");
        Meter.CreateObservableCounter("srs_proxy.rtc.pump.cpu", PumpCpu, "s",
            "CPU time of each WebRTC pump thread: one near a second per second is a full core, and another (PROXY_RTC_PUMPS) would help.");
        Meter.CreateObservableCounter("srs_proxy.rtc.pump.context_switches", PumpSwitches, "{switch}",
            "Context switches of each WebRTC pump thread: voluntary (its own sleeps and waits) and involuntary (preempted by other work on the machine, which PROXY_RTC_PUMP_PRIORITY removes).");
        if (closer is not null)
        {
            Meter.CreateObservableCounter("srs_proxy.rtc.origin_sessions_ended", () => OriginSessionsEnded(closer), "{session}",
                "Origin sessions the proxy ended with a DELETE after closing the player's session on its own (vanished player, stop), by outcome.");
        }

        if (tcp?.Listener is { } listener)
        {
            // ICE-TCP's share of the relay (issue 14). Its frames are also in srs_proxy.rtc.datagrams, which counts
            // every datagram relayed whatever the player's transport.
            Meter.CreateObservableUpDownCounter("srs_proxy.rtc.tcp.connections", () => TcpConnections(listener), "{connection}",
                "ICE-TCP connections open now, by state (authenticated by their first STUN request, or not yet).");
            Meter.CreateObservableCounter("srs_proxy.rtc.tcp.closed", () => TcpClosed(listener), "{connection}",
                "ICE-TCP connections closed or refused, by reason.");
            Meter.CreateObservableCounter("srs_proxy.rtc.tcp.frames", () => TcpTraffic(listener, bytes: false), "{frame}",
                "RFC 4571 frames on ICE-TCP connections, by direction (to_player: queued for the player).");
            Meter.CreateObservableCounter("srs_proxy.rtc.tcp.bytes", () => TcpTraffic(listener, bytes: true), "By",
                "Payload bytes on ICE-TCP connections, by direction.");
            Meter.CreateObservableCounter("srs_proxy.rtc.tcp.dropped", () => TcpQueueFull(listener), "{frame}",
                "Frames to players dropped because the connection's queue was full (the player reads slower than the origin sends).");
        }

        Meter.CreateObservableUpDownCounter("srs_proxy.origins", Origins, "{origin}",
            "Registered origins, by liveness.");
        Meter.CreateObservableUpDownCounter("srs_proxy.registry.available", () => Volatile.Read(ref _registryAvailable), "1",
            "1 while the registry answers, 0 since a read of it failed.");
        if (drain is not null)
        {
            Meter.CreateObservableUpDownCounter("srs_proxy.draining", () => drain.IsDraining ? 1 : 0, "1",
                "1 once the instance drains (SIGTERM or POST /api/v1/drain): it takes no new work and exits when what plays has ended.");
            Meter.CreateObservableCounter("srs_proxy.drain.refused", () => drain.RefusedCounts().Select(p =>
                new Measurement<long>(p.Value, new KeyValuePair<string, object?>("protocol", p.Key))), "{request}",
                "New work refused while draining, by protocol (WebRTC offers, SRT handshakes, HTTP streams).");
        }

        _signalling = Meter.CreateCounter<long>("srs_proxy.signalling.requests", "{request}",
            "WebRTC signalling requests (WHEP, WHIP, SRS's JSON API, session DELETE and PATCH), by kind and answer status.");
    }

    public Meter Meter { get; }

    /// <summary>Counts one signalling request once it is answered.</summary>
    public void SignallingRequest(string kind, int status) =>
        _signalling.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("status", status));

    /// <summary>
    /// Reads the origin counts from the registry now. <c>GET /metrics</c> awaits it before collecting; other
    /// collectors get counts at most <see cref="OriginCountsMaxAge"/> old. A registry that does not answer
    /// leaves the last counts and sets <c>srs_proxy.registry.available</c> to 0: the relay's figures matter
    /// most exactly then, so the scrape still succeeds.
    /// </summary>
    public async Task RefreshOriginsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var origins = await _registry.GetOriginsAsync(cancellationToken);
            var alive = origins.Count(o => o.Alive);
            Volatile.Write(ref _originsAlive, alive);
            Volatile.Write(ref _originsDead, origins.Count - alive);
            Volatile.Write(ref _registryAvailable, 1);
        }
        catch (RegistryUnavailableException)
        {
            Volatile.Write(ref _registryAvailable, 0);
        }

        Volatile.Write(ref _originsRead, _time.GetTimestamp());
    }

    private IEnumerable<Measurement<long>> Traffic(bool bytes)
    {
        var counters = _relay.Counters;
        long toOrigin = bytes ? Volatile.Read(ref counters.ClosedBytesToOrigin) : Volatile.Read(ref counters.ClosedPacketsToOrigin);
        long toPlayer = bytes ? Volatile.Read(ref counters.ClosedBytesToClient) : Volatile.Read(ref counters.ClosedPacketsToClient);
        foreach (var session in _relay.Sessions)
        {
            toOrigin += bytes ? Volatile.Read(ref session.BytesToOrigin) : Volatile.Read(ref session.PacketsToOrigin);
            toPlayer += bytes ? Volatile.Read(ref session.BytesToClient) : Volatile.Read(ref session.PacketsToClient);
        }

        return ByDirection(toOrigin, toPlayer);
    }

    private IEnumerable<Measurement<double>> PumpCpu()
    {
        foreach (var pump in _relay.Pumps)
        {
            if (PumpThreadStats.TryRead(pump.ThreadId, out var stats))
            {
                yield return new Measurement<double>(stats.CpuSeconds, new KeyValuePair<string, object?>("pump", pump.Name));
            }
        }
    }

    private IEnumerable<Measurement<long>> PumpSwitches()
    {
        foreach (var pump in _relay.Pumps)
        {
            if (PumpThreadStats.TryRead(pump.ThreadId, out var stats))
            {
                var name = new KeyValuePair<string, object?>("pump", pump.Name);
                yield return new Measurement<long>(stats.Voluntary, name, new KeyValuePair<string, object?>("kind", "voluntary"));
                yield return new Measurement<long>(stats.Involuntary, name, new KeyValuePair<string, object?>("kind", "involuntary"));
            }
        }
    }

    /// <summary>A traffic figure as the relays' instruments report it: one measurement per direction.</summary>
    private static Measurement<long>[] ByDirection(long toOrigin, long toPlayer) =>
    [
        new(toOrigin, new KeyValuePair<string, object?>("direction", "to_origin")),
        new(toPlayer, new KeyValuePair<string, object?>("direction", "to_player")),
    ];

    private static IEnumerable<Measurement<int>> TcpConnections(FramedTcpListener listener) =>
        ByState(listener.Connections, connection => connection.IsAuthenticated, "authenticated", "waiting_for_first_frame");

    /// <summary>Counts of a live table split in two states, as the sessions and connections gauges report them.</summary>
    private static Measurement<int>[] ByState<T>(IEnumerable<T> items, Func<T, bool> isFirst, string first, string second)
    {
        var total = 0;
        var inFirst = 0;
        foreach (var item in items)
        {
            total++;
            inFirst += isFirst(item) ? 1 : 0;
        }

        return
        [
            new(inFirst, new KeyValuePair<string, object?>("state", first)),
            new(total - inFirst, new KeyValuePair<string, object?>("state", second)),
        ];
    }

    private static IEnumerable<Measurement<long>> TcpClosed(FramedTcpListener listener) =>
        Enum.GetValues<TcpCloseReason>().Select(reason =>
            new Measurement<long>(listener.Counters.ClosedFor(reason), new KeyValuePair<string, object?>("reason", DropReasonNames.Snake(reason.ToString()))));

    private static IEnumerable<Measurement<long>> TcpTraffic(FramedTcpListener listener, bool bytes)
    {
        var counters = listener.Counters;
        var toOrigin = bytes ? Volatile.Read(ref counters.ClosedBytesIn) : Volatile.Read(ref counters.ClosedFramesIn);
        var toPlayer = bytes ? Volatile.Read(ref counters.ClosedBytesOut) : Volatile.Read(ref counters.ClosedFramesOut);
        foreach (var connection in listener.Connections)
        {
            toOrigin += bytes ? Volatile.Read(ref connection.BytesIn) : Volatile.Read(ref connection.FramesIn);
            toPlayer += bytes ? Volatile.Read(ref connection.BytesOut) : Volatile.Read(ref connection.FramesOut);
        }

        return ByDirection(toOrigin, toPlayer);
    }

    private static IEnumerable<Measurement<long>> TcpQueueFull(FramedTcpListener listener)
    {
        var total = Volatile.Read(ref listener.Counters.ClosedQueueFullDrops);
        foreach (var connection in listener.Connections)
        {
            total += Volatile.Read(ref connection.QueueFullDrops);
        }

        return [new(total, new KeyValuePair<string, object?>("reason", "queue_full"))];
    }

    private static IEnumerable<Measurement<long>> OriginSessionsEnded(OriginSessionCloser closer) =>
    [
        new(closer.Ended, new KeyValuePair<string, object?>("outcome", "ended")),
        new(closer.Failed, new KeyValuePair<string, object?>("outcome", "failed")),
        new(closer.Dropped, new KeyValuePair<string, object?>("outcome", "dropped")),
    ];

    private IEnumerable<Measurement<long>> Drops() =>
        Enum.GetValues<DropReason>().Select(reason =>
            new Measurement<long>(_relay.Counters.Drops(reason), new KeyValuePair<string, object?>("reason", DropReasonNames.Of(reason))));

    private IEnumerable<Measurement<int>> Sessions() =>
        ByState(_relay.Sessions, session => session.IsBound, "relaying", "waiting_for_player");

    private IEnumerable<Measurement<int>> Origins()
    {
        if (_time.GetElapsedTime(Volatile.Read(ref _originsRead)) > OriginCountsMaxAge && Interlocked.Exchange(ref _refreshing, 1) == 0)
        {
            _ = RefreshInBackgroundAsync();
        }

        return
        [
            new(Volatile.Read(ref _originsAlive), new KeyValuePair<string, object?>("state", "alive")),
            new(Volatile.Read(ref _originsDead), new KeyValuePair<string, object?>("state", "dead")),
        ];
    }

    private async Task RefreshInBackgroundAsync()
    {
        try
        {
            await RefreshOriginsAsync(CancellationToken.None);
        }
        catch (Exception)
        {
            // Whatever else went wrong, the next collection tries again.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    public void Dispose() => Meter.Dispose();
}

/// <summary>The label value of each drop reason, in snake case as Prometheus labels go.</summary>
internal static class DropReasonNames
{
    private static readonly string[] Names = Enum.GetValues<DropReason>().Select(r => Snake(r.ToString())).ToArray();

    public static string Of(DropReason reason) => Names[(int)reason];

    internal static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
