using SrsProxy.Bench.Measure;

namespace SrsProxy.Bench.Report;

/// <summary>One run: the workload, each mode's figures, and what the proxy adds over the direct baseline.</summary>
internal sealed record BenchReport
{
    public required DateTimeOffset Started { get; init; }

    public required string Label { get; init; }

    public required MachineInfo Machine { get; init; }

    public required WorkloadInfo Workload { get; init; }

    public required IReadOnlyList<ModeReport> Modes { get; init; }

    /// <summary>Proxy one-way latency percentiles minus the direct ones, in microseconds; null without both modes.</summary>
    public LatencySummary? AddedLatencyUs { get; init; }
}

/// <summary>The machine; <paramref name="LoadAverage"/> is /proc/loadavg's 1, 5 and 15 minute figures when the run started.</summary>
internal sealed record MachineInfo(int Cores, string Kernel, long RmemMax, string Runtime, IReadOnlyList<double> LoadAverage);

/// <summary>
/// The traffic: <paramref name="Pacing"/> (srs, burst, replay) and its description; the media bitrate and
/// datagrams per second per player the origin is to send (planned); packet size and tick are burst pacing's
/// settings.
/// </summary>
internal sealed record WorkloadInfo(
    int Players, string Pacing, string Description, long BitratePerPlayer, int PacketSize, double PacketsPerSecondPerPlayer,
    double FeedbackPerSecondPerPlayer, int FeedbackSize, double WarmupSeconds, double WindowSeconds, double TickMs);

internal sealed record LatencySummary(double P50, double P90, double P99, double P999, double Max);

internal sealed record SetupSummary(double P50, double P99, double Max);

internal sealed record ModeReport
{
    public required string Mode { get; init; }

    public required string Target { get; init; }

    public required int PlayersRequested { get; init; }

    public required int PlayersConnected { get; init; }

    public required IReadOnlyList<string> SetupErrors { get; init; }

    public required double WindowSeconds { get; init; }

    public required long MediaSent { get; init; }

    public required long MediaReceived { get; init; }

    public required long MediaLost { get; init; }

    public required double MediaLossPercent { get; init; }

    public required long Reordered { get; init; }

    public required double ReorderedPercent { get; init; }

    public required long FeedbackSent { get; init; }

    public required long FeedbackReceived { get; init; }

    public required double FeedbackLossPercent { get; init; }

    /// <summary>Media datagrams received by players plus feedback received by the origin, per second.</summary>
    public required double DatagramsPerSecond { get; init; }

    public required double MediaDatagramsPerSecond { get; init; }

    /// <summary>What the origin managed to send, per second: below the target when the load generator fell behind.</summary>
    public required double MediaSentPerSecond { get; init; }

    public required double MediaTargetPerSecond { get; init; }

    public required double MediaMbitPerSecond { get; init; }

    /// <summary>How the origin simulator sent in the window: planned and achieved gaps and bursts.</summary>
    public required PacingFigures Pacing { get; init; }

    /// <summary>/proc/loadavg (1, 5, 15 minutes) at the end of the window.</summary>
    public required IReadOnlyList<double> LoadAverage { get; init; }

    public required SetupSummary WhepAnswerMs { get; init; }

    public required SetupSummary IceConnectedMs { get; init; }

    public required LatencySummary LatencyUs { get; init; }

    public ProxyFigures? Proxy { get; init; }

    /// <summary>Datagrams the kernel dropped in the window because a receive buffer was full, by whose socket.</summary>
    public required KernelDrops KernelDrops { get; init; }

    public required ProcessFigures LoadGenerator { get; init; }

    /// <summary>All cores busy = 100; the hypervisor's steal is not counted.</summary>
    public required double MachineBusyPercent { get; init; }

    /// <summary>
    /// All cores = 100: time this virtual machine's CPUs were ready to run while the hypervisor ran something
    /// else. Above zero, the host was busy, and the CPU figures of the window are less comparable.
    /// </summary>
    public required double StealPercent { get; init; }

    /// <summary>
    /// CPU the rest of the machine used in the window (neither the proxy nor the load generator), % of one
    /// core: other work on a shared machine that the figures compete with.
    /// </summary>
    public required double OtherProcessesCpuPercentOfCore { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }
}

/// <summary>
/// Kernel UDP drops (/proc/net/udp) in the window: the players' sockets and the origin's are the load
/// generator's; the proxy's public socket receives from players; its other sockets receive from the origin.
/// Null for the proxy's when its process is unknown.
/// </summary>
internal sealed record KernelDrops(long Players, long Origin, long? ProxyPublic, long? ProxyOther);

/// <summary>CPU of one process over the window.</summary>
internal sealed record ProcessFigures(double CpuSeconds, double UserSeconds, double SystemSeconds, double CpuPercentOfCore, double CpuSecondsPerMillionDatagrams);

internal sealed record ProxyFigures
{
    public required int Pid { get; init; }

    public required ProcessFigures Cpu { get; init; }

    public required double RssIdleMb { get; init; }

    public required double RssMb { get; init; }

    public required double RssPerSessionKb { get; init; }

    /// <summary>
    /// Live managed heap before the players connected and once all had, from the proxy's pprof heap profile
    /// (after a full collection); per session is what the second half of the players added. Null without a
    /// .NET pprof endpoint.
    /// </summary>
    public double? HeapIdleMb { get; init; }

    public double? HeapMb { get; init; }

    public double? HeapPerSessionKb { get; init; }

    public required int Threads { get; init; }

    /// <summary>From /metrics; null when the proxy has no such endpoint.</summary>
    public double? Gen0PerMillionDatagrams { get; init; }

    public double? Gen1PerMillionDatagrams { get; init; }

    public double? Gen2PerMillionDatagrams { get; init; }

    /// <summary>Managed bytes allocated in the window, less one /metrics scrape's own allocation.</summary>
    public double? AllocatedBytesPerMillionDatagrams { get; init; }

    public double? ScrapeAllocatedBytes { get; init; }

    public double? RelayedToPlayer { get; init; }

    public double? RelayedToOrigin { get; init; }

    public IReadOnlyDictionary<string, double>? Drops { get; init; }

    /// <summary>Voluntary context switches of all the proxy's threads over the window; null when /proc could not be read.</summary>
    public WakeUps? WakeUps { get; init; }

    public required SyscallFigures Syscalls { get; init; }
}

/// <summary>
/// The proxy's system calls per relayed datagram, counted by perf over a sub-window right after the measured one
/// (same traffic) and divided by the window's datagram rate; <see cref="NotMeasured"/> says why when there are none.
/// </summary>
internal sealed record SyscallFigures
{
    public double? PerDatagram { get; init; }

    /// <summary>By system call (recvmmsg, sendmmsg, epoll_wait, futex...), per relayed datagram.</summary>
    public IReadOnlyDictionary<string, double>? ByKind { get; init; }

    public double Seconds { get; init; }

    public string? NotMeasured { get; init; }
}
