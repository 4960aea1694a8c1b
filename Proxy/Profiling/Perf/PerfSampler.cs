using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Samples every thread of this process on CPU time, as Go's profiler does: every
/// <see cref="PeriodNanoseconds"/> of CPU the kernel records the running thread's call chain, so each sample
/// stands for the same CPU time and a sleeping thread gets none. One reader thread empties the kernel's ring
/// buffers every <see cref="DrainInterval"/> and counts identical chains once.
/// <para>
/// Two ways to ask the kernel, the cheaper first. Per CPU (a CPU clock on each CPU this process may run on,
/// keeping only this process's samples): it costs the process nothing when its threads switch, but needs
/// CAP_PERFMON or kernel.perf_event_paranoid &lt;= 0. Otherwise per thread (a task clock on each thread,
/// threads started during the window found within <see cref="RescanInterval"/>): the kernel then stops and
/// restarts each thread's timer at every context switch, which a relay thread that sleeps thousands of
/// times a second pays for.
/// </para>
/// </summary>
internal sealed class PerfSampler : IPerfRecordSink, IDisposable
{
    /// <summary>Distinct chains kept; samples past that are counted as dropped (a 300 s profile of this proxy has a few thousand).</summary>
    public const int MaxDistinctChains = 200_000;

    private const string TaskRoot = "/proc/self/task";

    /// <summary>128 KiB per thread: 100 ms of samples of a busy thread with deep chains fit several times over.</summary>
    private const int ThreadDataPages = 32;

    /// <summary>256 KiB per CPU, which also carries other processes' samples (dropped when read).</summary>
    private const int CpuDataPages = 64;

    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(1);

    private readonly List<PerfRing> _rings = [];
    private readonly HashSet<int> _threads = [];
    private readonly HashSet<int> _seen = [];
    private readonly Dictionary<ChainKey, long> _counts = [];
    private readonly Dictionary<int, string> _names = [];
    private readonly ManualResetEventSlim _stop = new();
    private readonly int _pid = Environment.ProcessId;
    private Thread? _reader;
    private long _lost;
    private long _dropped;
    private long _samples;

    private PerfSampler(long periodNanoseconds, bool kernel, bool perCpu)
    {
        PeriodNanoseconds = periodNanoseconds;
        KernelFrames = kernel;
        PerCpu = perCpu;
    }

    public long PeriodNanoseconds { get; }

    /// <summary>Whether the chains include the kernel's frames.</summary>
    public bool KernelFrames { get; }

    /// <summary>Whether the kernel samples per CPU (else per thread).</summary>
    public bool PerCpu { get; }

    /// <summary>
    /// Starts sampling every thread, one sample per <paramref name="periodNanoseconds"/> of a thread's CPU. Kernel frames are included when this process may see them; otherwise
    /// only user-space frames. Throws a <see cref="PerfEventsRefusedException"/> when the kernel refuses perf
    /// events altogether (seccomp, kernel.perf_event_paranoid 3, not Linux). <paramref name="perCpu"/> false
    /// skips the per-CPU attempt (tests of the per-thread way).
    /// </summary>
    public static PerfSampler Start(long periodNanoseconds, bool perCpu = true)
    {
        if (!PerfEventInterop.Supported)
        {
            throw new PerfEventsRefusedException(0, "perf events need Linux on x64 or arm64");
        }

        if (perCpu)
        {
            var cpus = AllowedCpus();
            var sampler = new PerfSampler(periodNanoseconds, kernel: true, perCpu: true);
            foreach (var cpu in cpus)
            {
                if (PerfRing.Open(-1, cpu, periodNanoseconds, kernel: true, CpuDataPages, out _) is not { } ring)
                {
                    break;
                }

                sampler._rings.Add(ring);
            }

            if (cpus.Count > 0 && sampler._rings.Count == cpus.Count)
            {
                return sampler.StartReading();
            }

            sampler.Dispose();
        }

        // Per thread. A probe on the calling thread (tid 0) tells whether this process may see the kernel's frames.
        var kernel = true;
        var probe = PerfRing.Open(0, -1, periodNanoseconds, kernel: true, 1, out var errno);
        if (probe is null)
        {
            kernel = false;
            probe = PerfRing.Open(0, -1, periodNanoseconds, kernel: false, 1, out errno);
        }

        if (probe is null)
        {
            throw new PerfEventsRefusedException(errno, $"perf_event_open refused (errno {errno}); see /proc/sys/kernel/perf_event_paranoid and the container's seccomp profile");
        }

        probe.Disable();
        probe.Dispose();

        var perThread = new PerfSampler(periodNanoseconds, kernel, perCpu: false);
        perThread.Rescan();
        return perThread.StartReading();
    }

    private PerfSampler StartReading()
    {
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "pprof-perf" };
        _reader.Start();
        return this;
    }

    /// <summary>Stops every counter, reads what is left and returns the samples.</summary>
    public PerfSamples Stop()
    {
        _stop.Set();
        _reader?.Join();
        lock (_rings)
        {
            foreach (var ring in _rings)
            {
                ring.Disable();
            }

            foreach (var ring in _rings)
            {
                ring.Drain(this);
            }

            NameThreads(all: true);
            DisposeRings();
            return new PerfSamples(PeriodNanoseconds, KernelFrames, PerCpu, _counts, new Dictionary<int, string>(_names), _samples, _lost, _dropped, _names.Count);
        }
    }

    // The sampler's own hot code is compiled optimised at once (AggressiveOptimization): with tiering, the
    // JIT's background worker would recompile it during the very window being profiled.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadLoop()
    {
        var sinceRescan = TimeSpan.Zero;
        while (!_stop.Wait(DrainInterval))
        {
            lock (_rings)
            {
                foreach (var ring in _rings)
                {
                    ring.Drain(this);
                }

                NameThreads(all: false);
                sinceRescan += DrainInterval;
                if (!PerCpu && sinceRescan >= RescanInterval)
                {
                    sinceRescan = TimeSpan.Zero;
                    Rescan();
                }
            }
        }
    }

    /// <summary>Per thread: opens a counter on every thread not yet sampled.</summary>
    private void Rescan()
    {
        foreach (var tid in Tids())
        {
            // A thread that ended between the listing and the open is simply not sampled.
            if (_threads.Add(tid) && PerfRing.Open(tid, -1, PeriodNanoseconds, KernelFrames, ThreadDataPages, out _) is { } ring)
            {
                _rings.Add(ring);
            }
        }
    }

    /// <summary>
    /// Names the threads seen in samples while they live (threads rename themselves after they start, and
    /// EventPipe's end with their session); at the end, every living one is read again.
    /// </summary>
    private void NameThreads(bool all)
    {
        foreach (var tid in _seen)
        {
            if (all || !_names.ContainsKey(tid))
            {
                _names[tid] = ReadName(tid) ?? _names.GetValueOrDefault(tid, "thread");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IPerfRecordSink.Record(int type, ReadOnlySpan<byte> body)
    {
        if (type == PerfEventInterop.RecordLost && body.Length >= 16)
        {
            _lost += (long)BinaryPrimitives.ReadUInt64LittleEndian(body[8..]);
            return;
        }

        if (type != PerfEventInterop.RecordSample || body.Length < 16)
        {
            return;
        }

        // Per CPU, the ring also holds every other process's samples.
        if (BinaryPrimitives.ReadInt32LittleEndian(body) != _pid)
        {
            return;
        }

        var tid = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        var count = BinaryPrimitives.ReadUInt64LittleEndian(body[8..]);
        if (count > (ulong)(body.Length - 16) / 8)
        {
            return;
        }

        var chain = new ulong[count];
        for (var i = 0; i < chain.Length; i++)
        {
            chain[i] = BinaryPrimitives.ReadUInt64LittleEndian(body[(16 + (i * 8))..]);
        }

        _samples++;
        _seen.Add(tid);
        var key = new ChainKey(tid, chain);
        if (_counts.TryGetValue(key, out var known))
        {
            _counts[key] = known + 1;
        }
        else if (_counts.Count < MaxDistinctChains)
        {
            _counts.Add(key, 1);
        }
        else
        {
            _dropped++;
        }
    }

    /// <summary>The CPUs this process may run on (<c>Cpus_allowed_list</c>, e.g. "0-3,8"): only there can its threads be sampled.</summary>
    internal static List<int> AllowedCpus()
    {
        var cpus = new List<int>();
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            foreach (var part in (line?["Cpus_allowed_list:".Length..] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var range = part.Split('-');
                if (int.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first))
                {
                    var last = range.Length > 1 && int.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out var end) ? end : first;
                    for (var cpu = first; cpu <= last; cpu++)
                    {
                        cpus.Add(cpu);
                    }
                }
            }
        }
        catch (IOException)
        {
        }

        return cpus;
    }

    private static IEnumerable<int> Tids()
    {
        foreach (var folder in Directory.EnumerateDirectories(TaskRoot))
        {
            if (int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
            {
                yield return tid;
            }
        }
    }

    private static string? ReadName(int tid)
    {
        // A thread that has ended is common here (the window's own threads end with it); asked first, so that its
        // missing file is not an exception: on a first profile, throwing one made the JIT compile some 200 methods
        // of exception and resource handling in the window being measured.
        var task = $"{TaskRoot}/{tid.ToString(CultureInfo.InvariantCulture)}";
        if (!Directory.Exists(task))
        {
            return null;
        }

        try
        {
            return File.ReadAllText($"{task}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void DisposeRings()
    {
        foreach (var ring in _rings)
        {
            ring.Dispose();
        }

        _rings.Clear();
    }

    public void Dispose()
    {
        _stop.Set();
        _reader?.Join();
        lock (_rings)
        {
            DisposeRings();
        }

        _stop.Dispose();
    }
}

/// <summary>A thread and one call chain as the kernel recorded it, markers included; compared by value.</summary>
internal sealed class ChainKey : IEquatable<ChainKey>
{
    private readonly int _hash;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ChainKey(int tid, ulong[] chain)
    {
        Tid = tid;
        Chain = chain;
        var hash = new HashCode();
        hash.Add(tid);
        foreach (var address in chain)
        {
            hash.Add(address);
        }

        _hash = hash.ToHashCode();
    }

    public int Tid { get; }

    public ulong[] Chain { get; }

    /// <summary>
    /// The chain's code addresses, leaf first. A chain is "[KERNEL marker] kernel frames [USER marker] user
    /// frames"; the first address after a marker is where the thread was, each later one a return address.
    /// </summary>
    public IEnumerable<(ulong Address, bool Kernel, bool Return)> Frames()
    {
        var kernel = false;
        var first = true;
        foreach (var address in Chain)
        {
            if (address >= PerfEventInterop.ContextMarkers)
            {
                kernel = address == PerfEventInterop.ContextKernel;
                first = true;
                continue;
            }

            yield return (address, kernel, !first);
            first = false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Equals(ChainKey? other) => other is not null && other.Tid == Tid && other.Chain.AsSpan().SequenceEqual(Chain);

    public override bool Equals(object? obj) => Equals(obj as ChainKey);

    public override int GetHashCode() => _hash;
}

/// <summary>What a <see cref="PerfSampler"/> collected: how often each chain was seen, per thread.</summary>
internal sealed record PerfSamples(
    long PeriodNanoseconds,
    bool KernelFrames,
    bool PerCpu,
    IReadOnlyDictionary<ChainKey, long> Counts,
    IReadOnlyDictionary<int, string> ThreadNames,
    long Samples,
    long Lost,
    long Dropped,
    int Threads);
