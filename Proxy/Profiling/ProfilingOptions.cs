using SrsProxy.Configuration;

namespace SrsProxy.Profiling;

/// <summary>
/// The profiling listener (<c>GO_PPROF</c>) and the bounds of what one request may ask for. Built from
/// <see cref="ProxyOptions.Pprof"/>; the bounds are constants an operator has no reason to change, kept here
/// so that tests can shorten them and <see cref="Validate"/> checks them at start.
/// </summary>
internal sealed record ProfilingOptions
{
    public required ListenAddress Address { get; init; }

    /// <summary>How CPU profiles sample; see <see cref="Configuration.CpuSampler"/>.</summary>
    public CpuSampler CpuSampler { get; init; } = CpuSampler.Auto;

    /// <summary>CPU profile length without <c>?seconds=</c>. Defaults to 30 s, as Go's.</summary>
    public int DefaultCpuSeconds { get; init; } = 30;

    /// <summary>
    /// CPU samples per second of a thread's CPU without <c>?hz=</c>. Defaults to 100, as Go's profiler: a 30 s
    /// profile of a relay using a fifth of a core then holds some 600 of its samples, and the kernel's sampling
    /// and the reading of the samples cost a tenth of what they cost at 1,000.
    /// </summary>
    public int DefaultCpuHz { get; init; } = 100;

    /// <summary>Most CPU samples per second <c>?hz=</c> may ask for: one per millisecond of a thread's CPU.</summary>
    public const int MaxCpuHz = 1000;

    /// <summary>Longest CPU profile or allocation window. Defaults to 300 s: longer windows only grow the recording.</summary>
    public int MaxSeconds { get; init; } = 300;

    /// <summary>Allocation window without <c>?seconds=</c>. Defaults to 5 s: about 50 samples per 5 MB/s allocated.</summary>
    public int DefaultAllocSeconds { get; init; } = 5;

    /// <summary>Runtime trace length without <c>?seconds=</c>. Defaults to 1 s, as Go's.</summary>
    public double DefaultTraceSeconds { get; init; } = 1;

    /// <summary>Longest runtime trace. Defaults to 60 s, because a trace records every GC, JIT and lock event.</summary>
    public double MaxTraceSeconds { get; init; } = 60;

    /// <summary>
    /// How long the thread snapshot (<c>goroutine</c>) samples. Defaults to 50 ms: the sampler visits every
    /// managed thread about once a millisecond, so each is seen several times.
    /// </summary>
    public TimeSpan ThreadSnapshotWindow { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Size at which a recording is stopped early; at twice this, the request fails. Defaults to 256 MiB,
    /// which a 300 s CPU profile of a busy proxy stays well under.
    /// </summary>
    public long MaxRecordingBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>Profile collections running at once, of all kinds (one of each kind at most). Defaults to 3.</summary>
    public int MaxConcurrentProfiles { get; init; } = 3;

    /// <summary>Where recordings wait to be decoded; each is deleted once its answer is built.</summary>
    public string TempDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "srs-proxy-pprof");

    public IEnumerable<string> Validate()
    {
        if (DefaultCpuSeconds < 1 || DefaultCpuSeconds > MaxSeconds)
        {
            yield return $"pprof: default CPU seconds {DefaultCpuSeconds} outside 1..{MaxSeconds}";
        }

        if (DefaultCpuHz < 1 || DefaultCpuHz > MaxCpuHz)
        {
            yield return $"pprof: default CPU sampling rate {DefaultCpuHz} Hz outside 1..{MaxCpuHz}";
        }

        if (DefaultAllocSeconds < 1 || DefaultAllocSeconds > MaxSeconds)
        {
            yield return $"pprof: default allocation seconds {DefaultAllocSeconds} outside 1..{MaxSeconds}";
        }

        if (DefaultTraceSeconds <= 0 || DefaultTraceSeconds > MaxTraceSeconds)
        {
            yield return $"pprof: default trace seconds {DefaultTraceSeconds} outside (0, {MaxTraceSeconds}]";
        }

        if (ThreadSnapshotWindow <= TimeSpan.Zero || ThreadSnapshotWindow > TimeSpan.FromSeconds(5))
        {
            yield return $"pprof: thread snapshot window {ThreadSnapshotWindow} outside (0, 5 s]";
        }

        if (MaxRecordingBytes < 1024 * 1024)
        {
            yield return $"pprof: recording cap {MaxRecordingBytes} bytes is under 1 MiB";
        }

        if (MaxConcurrentProfiles < 1)
        {
            yield return $"pprof: at least one profile must be allowed at a time (got {MaxConcurrentProfiles})";
        }

        if (string.IsNullOrWhiteSpace(TempDirectory))
        {
            yield return "pprof: no temporary directory";
        }
    }
}
