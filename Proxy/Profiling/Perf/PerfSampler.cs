using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Samples every thread of this process on CPU time, as Go's profiler does: the kernel interrupts a thread
/// each <see cref="PeriodNanoseconds"/> of the CPU time it uses and records its call chain, so a sleeping
/// thread costs nothing and each sample stands for the same CPU time. One counter and ring per thread
/// (threads started during the window are picked up within <see cref="RescanInterval"/>); one reader thread
/// empties the rings every <see cref="DrainInterval"/> and counts identical chains once.
/// </summary>
internal sealed class PerfSampler : IPerfRecordSink, IDisposable
{
    /// <summary>Sample period in CPU time: 1 ms, a thousand samples per second of CPU.</summary>
    public const long DefaultPeriodNanoseconds = 1_000_000;

    /// <summary>Distinct chains kept; samples past that are counted as dropped (a 300 s profile of this proxy has a few thousand).</summary>
    public const int MaxDistinctChains = 200_000;

    private const string TaskRoot = "/proc/self/task";

    /// <summary>128 KiB per thread: 100 ms of samples of a busy thread with deep chains fit several times over.</summary>
    private const int DataPages = 32;

    private static readonly TimeSpan DrainInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<int, PerfRing> _rings = [];
    private readonly Dictionary<ChainKey, long> _counts = [];
    private readonly Dictionary<int, string> _names = [];
    private readonly ManualResetEventSlim _stop = new();
    private readonly bool _kernel;
    private Thread? _reader;
    private long _lost;
    private long _dropped;
    private long _samples;

    private PerfSampler(long periodNanoseconds, bool kernel)
    {
        PeriodNanoseconds = periodNanoseconds;
        _kernel = kernel;
    }

    public long PeriodNanoseconds { get; }

    /// <summary>
    /// Starts sampling every thread. Kernel frames are included when this process may see them; otherwise
    /// only user-space frames. Throws <see cref="ProfileUnavailableException"/> when the kernel refuses
    /// perf events altogether (seccomp, perf_event_paranoid 3, not Linux): a <see cref="PerfEventsRefusedException"/>.
    /// </summary>
    public static PerfSampler Start(long periodNanoseconds = DefaultPeriodNanoseconds)
    {
        if (!PerfEventInterop.Supported)
        {
            throw new PerfEventsRefusedException(0, "perf events need Linux on x64 or arm64");
        }

        // A probe on the calling thread (tid 0) tells whether the kernel lets this process see its own frames.
        var kernel = true;
        var probe = PerfRing.Open(0, periodNanoseconds, kernel: true, 1, out var errno);
        if (probe is null)
        {
            kernel = false;
            probe = PerfRing.Open(0, periodNanoseconds, kernel: false, 1, out errno);
        }

        if (probe is null)
        {
            throw new PerfEventsRefusedException(errno, $"perf_event_open refused (errno {errno}); see /proc/sys/kernel/perf_event_paranoid and the container's seccomp profile");
        }

        probe.Disable();
        probe.Dispose();

        var sampler = new PerfSampler(periodNanoseconds, kernel);
        sampler.Rescan();
        sampler._reader = new Thread(sampler.ReadLoop) { IsBackground = true, Name = "pprof-perf" };
        sampler._reader.Start();
        return sampler;
    }

    /// <summary>Whether the chains include the kernel's frames.</summary>
    public bool KernelFrames => _kernel;

    /// <summary>Stops every counter, reads what is left and returns the samples.</summary>
    public PerfSamples Stop()
    {
        _stop.Set();
        _reader?.Join();
        lock (_rings)
        {
            foreach (var ring in _rings.Values)
            {
                ring.Disable();
            }

            foreach (var ring in _rings.Values)
            {
                ring.Drain(this);
            }

            RefreshNames();
            var threads = _rings.Count;
            DisposeRings();
            return new PerfSamples(PeriodNanoseconds, _kernel, _counts, new Dictionary<int, string>(_names), _samples, _lost, _dropped, threads);
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
                foreach (var ring in _rings.Values)
                {
                    ring.Drain(this);
                }

                sinceRescan += DrainInterval;
                if (sinceRescan >= RescanInterval)
                {
                    sinceRescan = TimeSpan.Zero;
                    Rescan();
                }
            }
        }
    }

    /// <summary>Opens a counter on every thread not yet sampled.</summary>
    private void Rescan()
    {
        lock (_rings)
        {
            foreach (var tid in Tids())
            {
                if (_rings.ContainsKey(tid))
                {
                    continue;
                }

                // A thread that ended between the listing and the open is simply not sampled.
                var ring = PerfRing.Open(tid, PeriodNanoseconds, _kernel, DataPages, out _);
                if (ring is not null)
                {
                    _rings.Add(tid, ring);
                    _names[tid] = ReadName(tid) ?? "thread";
                }
            }
        }
    }

    /// <summary>Threads rename themselves after they start; the names of the living ones are read again at the end.</summary>
    private void RefreshNames()
    {
        foreach (var tid in _rings.Keys)
        {
            if (ReadName(tid) is { } name)
            {
                _names[tid] = name;
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
        try
        {
            return File.ReadAllText($"{TaskRoot}/{tid.ToString(CultureInfo.InvariantCulture)}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void DisposeRings()
    {
        foreach (var ring in _rings.Values)
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Equals(ChainKey? other) => other is not null && other.Tid == Tid && other.Chain.AsSpan().SequenceEqual(Chain);

    public override bool Equals(object? obj) => Equals(obj as ChainKey);

    public override int GetHashCode() => _hash;
}

/// <summary>What a <see cref="PerfSampler"/> collected: how often each chain was seen, per thread.</summary>
internal sealed record PerfSamples(
    long PeriodNanoseconds,
    bool KernelFrames,
    IReadOnlyDictionary<ChainKey, long> Counts,
    IReadOnlyDictionary<int, string> ThreadNames,
    long Samples,
    long Lost,
    long Dropped,
    int Threads);
