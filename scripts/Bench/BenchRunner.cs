using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SrsProxy.Bench.Floor;
using SrsProxy.Bench.Measure;
using SrsProxy.Bench.Origin;
using SrsProxy.Bench.Pacing;
using SrsProxy.Bench.Players;
using SrsProxy.Bench.Report;

namespace SrsProxy.Bench;

/// <summary>
/// Runs each mode in turn against one origin simulator: players connect, warm up, then a steady window is
/// measured (the proxy's CPU, memory and /metrics deltas, the load generator's own CPU, every datagram the
/// window sent), and the players leave before the next mode starts.
/// </summary>
internal sealed class BenchRunner
{
    /// <summary>
    /// After the window, media keeps flowing so datagrams sent in it can still arrive: at least
    /// <see cref="DrainMin"/>, then until none arrived for <see cref="DrainQuiet"/>, at most <see cref="DrainMax"/>.
    /// A datagram of the window still queued after that counts as lost.
    /// </summary>
    private static readonly TimeSpan DrainMin = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan DrainQuiet = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan DrainMax = TimeSpan.FromSeconds(10);

    /// <summary>System calls are counted after the window for a quarter of it, at least 2 s and at most 5 s.</summary>
    private const double SyscallSecondsMin = 2;

    private const double SyscallSecondsMax = 5;

    private readonly BenchOptions _options;
    private readonly TrafficPattern _traffic;
    private readonly TextWriter _log;

    public BenchRunner(BenchOptions options, TrafficPattern traffic, TextWriter log)
    {
        _options = options;
        _traffic = traffic;
        _log = log;
    }

    public async Task<BenchReport> RunAsync(string outputStem, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.Now;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = _options.ConnectConcurrency * 2,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
        var loadAverage = LoadAverage();
        _log.WriteLine($"bench: {_traffic.Describe()}");
        await using var origin = new OriginSimulator(_options, _traffic);
        var registerAt = _options.Modes.Contains("proxy") ? _options.ProxySystem : null;
        await origin.StartAsync(registerAt);
        _log.WriteLine($"bench: origin simulator: api {origin.ApiBase}, udp {origin.UdpEndPoint} (receive buffer {origin.ReceiveBufferBytes} B)" +
            (registerAt is null ? "" : $", registered at {registerAt}"));

        var modes = new List<ModeReport>();
        foreach (var mode in _options.Modes)
        {
            modes.Add(await RunModeAsync(mode, origin, http, outputStem, cancellationToken));
            origin.Forget();
        }

        var proxy = modes.FirstOrDefault(m => m.Mode == "proxy");
        var direct = modes.FirstOrDefault(m => m.Mode == "direct");
        LatencySummary? added = null;
        if (proxy is not null && direct is not null)
        {
            added = new LatencySummary(
                proxy.LatencyUs.P50 - direct.LatencyUs.P50,
                proxy.LatencyUs.P90 - direct.LatencyUs.P90,
                proxy.LatencyUs.P99 - direct.LatencyUs.P99,
                proxy.LatencyUs.P999 - direct.LatencyUs.P999,
                proxy.LatencyUs.Max - direct.LatencyUs.Max);
        }

        return new BenchReport
        {
            Started = started,
            Label = _options.Transport == "tcp" ? $"players over ICE-TCP (proxy mode){(_options.Label.Length > 0 ? "; " + _options.Label : "")}" : _options.Label,
            Machine = new MachineInfo(Environment.ProcessorCount, Environment.OSVersion.VersionString, ReadLong("/proc/sys/net/core/rmem_max"),
                RuntimeInformation.FrameworkDescription, loadAverage),
            Workload = new WorkloadInfo(_options.Players, _options.Pacing.ToString().ToLowerInvariant(), _traffic.Describe(),
                (long)Math.Round(_traffic.MediaBitsPerSecondPerPlayer(_options.Players)), _options.PacketSize,
                _traffic.MediaPerSecondPerPlayer(_options.Players), _traffic.FeedbackPerSecondPerPlayer(_options.Players), _options.FeedbackSize,
                _options.Warmup, _options.Seconds, _options.TickMs),
            Modes = modes,
            AddedLatencyUs = added,
        };
    }

    private async Task<ModeReport> RunModeAsync(string mode, OriginSimulator origin, HttpClient http, string outputStem, CancellationToken cancellationToken)
    {
        var isProxy = mode == "proxy";
        var apiBase = isProxy ? _options.ProxyApi! : origin.ApiBase;
        var notes = new List<string>();
        int? proxyPid = null;
        if (isProxy)
        {
            proxyPid = _options.ProxyPid ?? ProcessStats.FindTcpListener(_options.ProxySystem!.Port);
            if (proxyPid is null)
            {
                notes.Add("proxy process not found (give --proxy-pid): no proxy CPU or memory figures");
            }
        }

        // The floor: the players sign in at the origin as in direct mode, but send to the floor relay, which opens
        // a session towards the origin at each player's first binding request; its figures fill the proxy's rows.
        using var floor = mode == "floor"
            ? await FloorRelay.StartAsync(_options.FloorRelay!, origin.UdpEndPoint, _options.FloorCoalesceUs, cancellationToken)
            : null;
        if (floor is not null)
        {
            proxyPid = floor.Pid;
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"the relay: {Path.GetFileName(_options.FloorRelay)} (scripts/Bench/Floor/floor-relay.c, pid {floor.Pid}, udp {floor.PublicEndPoint}), coalescing {_options.FloorCoalesceUs} µs, scheduled {(SchedulingPolicy(floor.Pid) is 0 ? "SCHED_OTHER, as the proxy" : "NOT as the proxy: it could not leave the load generator's policy")}: the proxy pump's system calls and nothing else"));
        }

        var rssIdle = proxyPid is { } idlePid ? ProcessStats.Sample(idlePid)?.RssBytes ?? 0 : 0;
        var heapIdle = isProxy && _options.Heap ? await HeapProfile.LiveBytesAsync(_options.Pprof, cancellationToken) : null;
        _log.WriteLine($"bench: {mode}: connecting {_options.Players} players to {apiBase} ({_options.ConnectConcurrency} at a time)");
        origin.Phase = RunPhase.Warmup;
        await using var fleet = new PlayerFleet(_options, _traffic, http, tcp: isProxy && _options.Transport == "tcp", sendTo: floor?.PublicEndPoint)
        {
            Phase = RunPhase.Warmup,
        };
        var connectWatch = Stopwatch.StartNew();
        long? heapHalf = null;
        long rssHalf = 0;
        var connectedHalf = 0;
        await fleet.ConnectAsync(apiBase, async () =>
        {
            connectedHalf = fleet.Players.Count(p => p.Connected);
            heapHalf = isProxy && _options.Heap ? await HeapProfile.LiveBytesAsync(_options.Pprof, cancellationToken) : null;
            rssHalf = proxyPid is { } halfPid ? ProcessStats.Sample(halfPid)?.RssBytes ?? 0 : 0;
        }, cancellationToken);
        var connected = fleet.Players.Where(p => p.Connected).ToArray();
        var errors = fleet.Players.Where(p => p.Error is not null).GroupBy(p => p.Error!)
            .Select(g => $"{g.Count()} x {g.Key}").Take(5).ToArray();
        _log.WriteLine($"bench: {mode}: {connected.Length}/{_options.Players} connected in {connectWatch.Elapsed.TotalSeconds:F1} s" +
            (errors.Length > 0 ? "; " + string.Join("; ", errors) : ""));

        // Memory per session: what the second half of the players added, after the first half warmed the proxy up.
        var heapFull = isProxy && _options.Heap ? await HeapProfile.LiveBytesAsync(_options.Pprof, cancellationToken) : null;
        var rssFull = proxyPid is { } fullPid ? ProcessStats.Sample(fullPid)?.RssBytes ?? 0 : 0;
        var secondHalf = connected.Length - connectedHalf;

        _log.WriteLine($"bench: {mode}: warm-up {_options.Warmup} s");
        await Task.Delay(TimeSpan.FromSeconds(_options.Warmup), cancellationToken);

        // What one scrape of /metrics allocates in the proxy, measured by two scrapes back to back.
        var calibration = await MetricsScrape.FetchAsync(http, isProxy ? _options.ProxySystem : null, cancellationToken);
        var metricsStart = await MetricsScrape.FetchAsync(http, isProxy ? _options.ProxySystem : null, cancellationToken);
        var scrapeBytes = MetricsScrape.Delta(calibration, metricsStart, "dotnet_gc_heap_total_allocated_bytes_total");

        var proxyStart = proxyPid is { } pid0 ? ProcessStats.Sample(pid0) : null;
        var threadsStart = proxyPid is { } tpid0 ? ThreadStats.Sample(tpid0) : null;
        var selfStart = ProcessStats.Sample(Environment.ProcessId)!.Value;
        var machineStart = ProcessStats.Machine();
        var dropsStart = UdpDrops.Sample();
        var windowWatch = Stopwatch.StartNew();
        origin.Phase = RunPhase.Steady;
        fleet.Phase = RunPhase.Steady;
        _log.WriteLine($"bench: {mode}: steady window {_options.Seconds} s");

        Task<string>? cpuProfile = null;
        if (isProxy && _options.Profile)
        {
            cpuProfile = Pprof.FetchAsync(_options.Pprof, $"debug/pprof/profile?seconds={Math.Max(1, (int)_options.Seconds - 1)}{(_options.ProfileHz is { } hz ? $"&hz={hz}" : "")}",
                $"{outputStem}-cpu.pb.gz", TimeSpan.FromSeconds(_options.Seconds + 30), cancellationToken);
        }

        await Task.Delay(TimeSpan.FromSeconds(_options.Seconds), cancellationToken);
        origin.Phase = RunPhase.Drain;
        fleet.Phase = RunPhase.Drain;
        var window = windowWatch.Elapsed.TotalSeconds;
        var machineEnd = ProcessStats.Machine();
        var dropsEnd = UdpDrops.Sample();
        var selfEnd = ProcessStats.Sample(Environment.ProcessId)!.Value;
        var proxyEnd = proxyPid is { } pid1 ? ProcessStats.Sample(pid1) : null;
        var threadsEnd = proxyPid is { } tpid1 ? ThreadStats.Sample(tpid1) : null;
        var loadAverage = LoadAverage();
        var metricsEnd = await MetricsScrape.FetchAsync(http, isProxy ? _options.ProxySystem : null, cancellationToken);

        var (stamped, unstamped) = KernelArrival.Counts;
        notes.Add(string.Create(CultureInfo.InvariantCulture, $"latency ends at the kernel's arrival stamp on the player's socket (SIOCGSTAMPNS) for {stamped:N0} receives so far, at the player's own clock for {unstamped:N0}; load generator scheduled {GeneratorPolicy()}"));

        if (cpuProfile is not null)
        {
            var cpu = await cpuProfile;
            var allocs = await Pprof.FetchAsync(_options.Pprof, "debug/pprof/allocs", $"{outputStem}-allocs.pb.gz", TimeSpan.FromSeconds(60), cancellationToken);
            notes.Add("CPU profile: " + cpu);
            notes.Add("allocation profile: " + allocs);
            if (!cpu.StartsWith(Pprof.NotTaken, StringComparison.Ordinal))
            {
                notes.Add("the proxy's CPU figures include the profiler's own cost; compare costs from runs without --profile");
            }
        }

        // System calls: counted right after the window, while the same traffic flows on (the drain), so that the
        // counting's own cost stays out of the window's CPU figures.
        var syscallSeconds = Math.Clamp(_options.Seconds / 4, SyscallSecondsMin, SyscallSecondsMax);
        var syscalls = proxyPid is { } spid
            ? SyscallCount.CountAsync(spid, syscallSeconds, cancellationToken)
            : Task.FromResult<(Dictionary<string, long>?, string?)>((null, "no proxy process"));
        await DrainAsync(fleet, cancellationToken);
        var (syscallCounts, syscallFailure) = await syscalls;
        var pacing = origin.Pacing.Snapshot(_traffic.Mode.ToString().ToLowerInvariant(), _traffic.Describe(), _traffic.Reference);

        long mediaSent = 0, feedbackReceived = 0;
        foreach (var player in connected)
        {
            if (origin.FindByOfferUfrag(player.OfferUfrag) is { } session)
            {
                mediaSent += session.SentSteady;
                feedbackReceived += session.FeedbackSteady;
            }
        }

        var mediaReceived = connected.Sum(p => p.ReceivedSteady);
        var reordered = connected.Sum(p => p.Reordered);
        var feedbackSent = connected.Sum(p => p.FeedbackSentSteady);
        var mediaLost = Math.Max(0, mediaSent - mediaReceived);
        var datagrams = mediaReceived + feedbackReceived;
        var latency = fleet.Latency;

        ProxyFigures? proxyFigures = null;
        if (proxyStart is { } ps && proxyEnd is { } pe)
        {
            double? PerMillion(double? value) => value is { } v && datagrams > 0 ? v * 1e6 / datagrams : null;
            var perSecond = datagrams / window;
            var syscallFigures = syscallCounts is null || perSecond <= 0
                ? new SyscallFigures { NotMeasured = syscallFailure ?? "no datagram relayed", Seconds = syscallSeconds }
                : new SyscallFigures
                {
                    Seconds = syscallSeconds,
                    PerDatagram = syscallCounts[SyscallCount.Total] / syscallSeconds / perSecond,
                    ByKind = syscallCounts.Where(c => c.Key != SyscallCount.Total && c.Value > 0)
                        .ToDictionary(c => c.Key["syscalls:sys_enter_".Length..], c => c.Value / syscallSeconds / perSecond),
                };
            var allocated = MetricsScrape.Delta(metricsStart, metricsEnd, "dotnet_gc_heap_total_allocated_bytes_total") - (scrapeBytes ?? 0);
            proxyFigures = new ProxyFigures
            {
                Pid = proxyPid!.Value,
                Cpu = Cpu(ps, pe, window, datagrams),
                RssIdleMb = rssIdle / 1e6,
                RssMb = pe.RssBytes / 1e6,
                RssPerSessionKb = secondHalf <= 0 || rssHalf == 0 ? 0 : (rssFull - rssHalf) / 1e3 / secondHalf,
                HeapIdleMb = heapIdle / 1e6,
                HeapMb = heapFull / 1e6,
                HeapPerSessionKb = heapHalf is { } hh && heapFull is { } hf && secondHalf > 0 ? (hf - hh) / 1e3 / secondHalf : null,
                Threads = pe.Threads,
                Gen0PerMillionDatagrams = PerMillion(MetricsScrape.Delta(metricsStart, metricsEnd, "dotnet_gc_collections_total{gc_heap_generation=\"gen0\"}")),
                Gen1PerMillionDatagrams = PerMillion(MetricsScrape.Delta(metricsStart, metricsEnd, "dotnet_gc_collections_total{gc_heap_generation=\"gen1\"}")),
                Gen2PerMillionDatagrams = PerMillion(MetricsScrape.Delta(metricsStart, metricsEnd, "dotnet_gc_collections_total{gc_heap_generation=\"gen2\"}")),
                AllocatedBytesPerMillionDatagrams = PerMillion(allocated is { } a ? Math.Max(0, a) : null),
                ScrapeAllocatedBytes = scrapeBytes,
                RelayedToPlayer = MetricsScrape.Delta(metricsStart, metricsEnd, "srs_proxy_rtc_datagrams_total{direction=\"to_player\"}"),
                RelayedToOrigin = MetricsScrape.Delta(metricsStart, metricsEnd, "srs_proxy_rtc_datagrams_total{direction=\"to_origin\"}"),
                WakeUps = threadsStart is not null && threadsEnd is not null ? ThreadStats.Between(threadsStart, threadsEnd, window, datagrams) : null,
                Syscalls = syscallFigures,
                Drops = metricsEnd is null ? null : metricsEnd.Samples
                    .Where(s => s.Key.StartsWith("srs_proxy_rtc_dropped_total{", StringComparison.Ordinal))
                    .ToDictionary(s => s.Key["srs_proxy_rtc_dropped_total{reason=\"".Length..^2], s => MetricsScrape.Delta(metricsStart, metricsEnd, s.Key) ?? 0),
            };
        }

        if (isProxy && metricsEnd is null)
        {
            notes.Add("the proxy serves no Prometheus /metrics on its system API: no GC or allocation figures");
        }

        var playerPorts = connected.Select(p => p.LocalPort).ToHashSet();
        var originPort = origin.UdpEndPoint.Port;
        var proxyInodes = proxyPid is { } pid2 ? UdpDrops.InodesOf(pid2) : null;
        var publicPort = isProxy || floor is not null ? connected.FirstOrDefault()?.Remote?.Port ?? 0 : 0;
        var kernelDrops = new KernelDrops(
            UdpDrops.Between(dropsStart, dropsEnd, (_, port) => playerPorts.Contains(port)),
            UdpDrops.Between(dropsStart, dropsEnd, (_, port) => port == originPort),
            proxyInodes is null ? null : UdpDrops.Between(dropsStart, dropsEnd, (inode, port) => port == publicPort && proxyInodes.Contains(inode)),
            proxyInodes is null ? null : UdpDrops.Between(dropsStart, dropsEnd, (inode, port) => port != publicPort && proxyInodes.Contains(inode)));
        var loadGenerator = Cpu(selfStart, selfEnd, window, datagrams);
        var machineBusy = machineEnd.BusySeconds - machineStart.BusySeconds;
        var others = machineBusy - loadGenerator.CpuSeconds - (proxyFigures?.Cpu.CpuSeconds ?? 0);
        _log.WriteLine($"bench: {mode}: {mediaReceived}/{mediaSent} media datagrams received in the window, disconnecting");
        return new ModeReport
        {
            Mode = mode,
            Target = apiBase.ToString(),
            PlayersRequested = _options.Players,
            PlayersConnected = connected.Length,
            SetupErrors = errors,
            WindowSeconds = window,
            MediaSent = mediaSent,
            MediaReceived = mediaReceived,
            MediaLost = mediaLost,
            MediaLossPercent = Percent(mediaLost, mediaSent),
            Reordered = reordered,
            ReorderedPercent = Percent(reordered, mediaReceived),
            FeedbackSent = feedbackSent,
            FeedbackReceived = feedbackReceived,
            FeedbackLossPercent = Percent(Math.Max(0, feedbackSent - feedbackReceived), feedbackSent),
            DatagramsPerSecond = datagrams / window,
            MediaDatagramsPerSecond = mediaReceived / window,
            MediaSentPerSecond = mediaSent / window,
            MediaTargetPerSecond = connected.Length * _traffic.MediaPerSecondPerPlayer(_options.Players),
            MediaMbitPerSecond = connected.Sum(p => p.ReceivedBytesSteady) * 8 / window / 1e6,
            Pacing = pacing,
            LoadAverage = loadAverage,
            WhepAnswerMs = Setup(connected.Select(p => p.AnswerTicks)),
            IceConnectedMs = Setup(connected.Select(p => p.IceTicks)),
            LatencyUs = new LatencySummary(latency.Percentile(0.50), latency.Percentile(0.90), latency.Percentile(0.99), latency.Percentile(0.999), latency.MaxMicroseconds),
            Proxy = proxyFigures,
            KernelDrops = kernelDrops,
            LoadGenerator = loadGenerator,
            MachineBusyPercent = 100 * machineBusy / Math.Max(1e-9, machineEnd.TotalSeconds - machineStart.TotalSeconds),
            StealPercent = 100 * (machineEnd.StealSeconds - machineStart.StealSeconds) / Math.Max(1e-9, machineEnd.TotalSeconds - machineStart.TotalSeconds),
            OtherProcessesCpuPercentOfCore = Math.Max(0, 100 * others / window),
            Notes = notes,
        };
    }

    private static async Task DrainAsync(PlayerFleet fleet, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        await Task.Delay(DrainMin, cancellationToken);
        var received = fleet.Players.Sum(p => Volatile.Read(ref p.ReceivedSteady));
        var quietSince = watch.Elapsed;
        while (watch.Elapsed < DrainMax && watch.Elapsed - quietSince < DrainQuiet)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            var now = fleet.Players.Sum(p => Volatile.Read(ref p.ReceivedSteady));
            if (now != received)
            {
                received = now;
                quietSince = watch.Elapsed;
            }
        }
    }

    private static ProcessFigures Cpu(ProcessSample start, ProcessSample end, double window, long datagrams)
    {
        var cpu = end.CpuSeconds - start.CpuSeconds;
        return new ProcessFigures(cpu, end.UserSeconds - start.UserSeconds, end.SystemSeconds - start.SystemSeconds,
            100 * cpu / window, datagrams == 0 ? 0 : cpu * 1e6 / datagrams);
    }

    private static SetupSummary Setup(IEnumerable<long> ticks)
    {
        var ms = ticks.Where(t => t > 0).Select(t => t * 1000.0 / Stopwatch.Frequency).Order().ToArray();
        if (ms.Length == 0)
        {
            return new SetupSummary(double.NaN, double.NaN, double.NaN);
        }

        double At(double q) => ms[Math.Clamp((int)Math.Ceiling(q * ms.Length) - 1, 0, ms.Length - 1)];
        return new SetupSummary(At(0.50), At(0.99), ms[^1]);
    }

    private static double Percent(long part, long whole) => whole == 0 ? 0 : 100.0 * part / whole;

    /// <summary>
    /// This process's scheduling policy: SCHED_IDLE when scripts/bench started it with <c>chrt --idle</c> (its
    /// default), so that the load generator never takes a core from the proxy.
    /// </summary>
    private static string GeneratorPolicy() => SchedulingPolicy(null) switch
    {
        0 => "SCHED_OTHER (its wake-ups may preempt the proxy)",
        3 => "SCHED_BATCH (its wake-ups do not preempt the proxy)",
        5 => "SCHED_IDLE (it takes only the cycles the proxy leaves)",
        { } policy => $"policy {policy}",
        null => "unknown",
    };

    /// <summary>A process's scheduling policy (field 41 of <c>/proc/PID/stat</c>), this one's when <paramref name="pid"/> is null.</summary>
    private static int? SchedulingPolicy(int? pid)
    {
        try
        {
            var stat = File.ReadAllText(pid is { } p ? $"/proc/{p}/stat" : "/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 38 && int.TryParse(fields[38], NumberStyles.None, CultureInfo.InvariantCulture, out var policy) ? policy : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>/proc/loadavg: runnable and waiting tasks averaged over 1, 5 and 15 minutes; empty where there is none.</summary>
    private static double[] LoadAverage()
    {
        try
        {
            return [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static long ReadLong(string path)
    {
        try
        {
            return long.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
