using System.Collections.Concurrent;
using Microsoft.Diagnostics.Tracing.Etlx;
using SrsProxy.Configuration;
using SrsProxy.Profiling.Perf;

namespace SrsProxy.Profiling;

/// <summary>
/// Takes the profiles behind <c>/debug/pprof/</c>: records an EventPipe session on this process for the
/// window asked, then decodes it into a pprof profile. Nothing runs between requests. One profile of each
/// kind at a time (a second gets <see cref="ProfilerBusyException"/>), at most
/// <see cref="ProfilingOptions.MaxConcurrentProfiles"/> in all, and one decode at a time, because decoding
/// takes a core for a moment and the relay needs the others.
/// </summary>
internal sealed class Profiler : IDisposable
{
    private readonly ProfilingOptions _options;
    private readonly EventPipeRecorder _recorder;
    private readonly SymbolTable _symbols;
    private readonly ConcurrentDictionary<ProfileKind, bool> _running = new();
    private readonly SemaphoreSlim _decode = new(1, 1);

    public Profiler(ProfilingOptions options, EventPipeRecorder recorder, SymbolTable symbols)
    {
        _options = options;
        _recorder = recorder;
        _symbols = symbols;
    }

    /// <summary>The file pprof prints as "File:": the proxy's own assembly.</summary>
    public static string MainBinary { get; } = typeof(Profiler).Assembly.Location is { Length: > 0 } location ? location : "srs-proxy";

    /// <summary>
    /// A CPU profile over <paramref name="window"/>: the kernel's CPU-time samples where this process may open
    /// perf events (and <see cref="ProfilingOptions.CpuSampler"/> allows them), <paramref name="hz"/> samples per
    /// second of a thread's CPU; else EventPipe's thread sampler, whose rate the runtime fixes (about 1,000 a second).
    /// </summary>
    public async Task<byte[]> CpuAsync(TimeSpan window, int hz, CancellationToken cancellationToken)
    {
        using var lease = Begin(ProfileKind.Cpu);
        if (_options.CpuSampler != CpuSampler.EventPipe)
        {
            PerfSampler? sampler = null;
            try
            {
                sampler = PerfSampler.Start(1_000_000_000L / hz);
            }
            catch (ProfileUnavailableException) when (_options.CpuSampler == CpuSampler.Auto)
            {
            }

            if (sampler is not null)
            {
                return await PerfCpuAsync(sampler, window, cancellationToken);
            }
        }

        return await EventPipeCpuAsync(window, cancellationToken);
    }

    /// <summary>
    /// Kernel samples over the window, named afterwards from the runtime's method rundown: nothing but the
    /// kernel's sampling runs during the window. The rundown lists every piece of code the JIT has made that
    /// is still in the code heap, so code replaced during the window (a method moving up a tier) is named too.
    /// </summary>
    private async Task<byte[]> PerfCpuAsync(PerfSampler sampler, TimeSpan window, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;

        // The process's CPU (getrusage: every thread, those that end in the window too), not each thread's from
        // /proc: reading a directory's entries is a few dozen more methods for the JIT to compile on a first profile.
        var before = Environment.CpuUsage.TotalTime;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        PerfSamples samples;
        try
        {
            await Task.Delay(window, cancellationToken);
        }
        finally
        {
            samples = sampler.Stop();
            sampler.Dispose();
        }

        var length = clock.Elapsed;
        var measured = (long)(Environment.CpuUsage.TotalTime - before).TotalNanoseconds;
        var naming = System.Diagnostics.Stopwatch.StartNew();
        await _decode.WaitAsync(cancellationToken);
        try
        {
            using var managed = await ManagedCode.FromRundownAsync(PerfCpuProfile.UserAddresses(samples), _options.MaxRecordingBytes, cancellationToken);
            var rundown = naming.ElapsedMilliseconds;
            return await Task.Run(() =>
            {
                var step = System.Diagnostics.Stopwatch.StartNew();
                var kernel = samples.KernelFrames ? KernelSymbols.Read() : null;
                var kernelSymbols = step.ElapsedMilliseconds;
                step.Restart();
                var (profile, frames) = PerfCpuProfile.Build(samples, managed, NativeCode.ReadSelf(), kernel, started, length, measured, MainBinary);
                var methods = managed.Unavailable is null ? $"the runtime's method rundown, read as it came, {rundown} ms ({managed.Bytes / 1024} KiB)" : "no method rundown";
                profile.AddComment($"cpu: named after the window in {naming.ElapsedMilliseconds} ms: {methods}, kernel symbols {kernelSymbols} ms, the rest {step.ElapsedMilliseconds} ms");
                _symbols.Remember(frames);
                return profile.ToGzip();
            }, cancellationToken);
        }
        finally
        {
            _decode.Release();
        }
    }

    private async Task<byte[]> EventPipeCpuAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        var before = ThreadCpuTimes.Read();
        IReadOnlyDictionary<int, long> after = before;
        IReadOnlyDictionary<int, string> names = new Dictionary<int, string>();
        var request = new EventPipeRequest("cpu", RuntimeProviders.Sampling(), Rundown: true, Stacks: true, 64, _options.MaxRecordingBytes);
        using var trace = await _recorder.RecordAsync(request, async token =>
        {
            try
            {
                await Task.Delay(window, token);
            }
            finally
            {
                // Read when the window ends, not after the rundown and the decode.
                after = ThreadCpuTimes.Read();
                names = ThreadCpuTimes.ReadNames();
            }
        }, cancellationToken);
        return await DecodeAsync(trace, (log, stacks) => CpuProfile.Build(log, stacks, trace, before, after, names, MainBinary).ToGzip(), cancellationToken);
    }

    public async Task<byte[]> AllocationsAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        using var lease = Begin(ProfileKind.Allocations);
        var request = new EventPipeRequest("allocs", RuntimeProviders.Allocations(), Rundown: true, Stacks: true, 64, _options.MaxRecordingBytes);
        using var trace = await _recorder.RecordAsync(request, token => Task.Delay(window, token), cancellationToken);
        return await DecodeAsync(trace, (log, stacks) => AllocationProfile.Build(log, stacks, trace, MainBinary).ToGzip(), cancellationToken);
    }

    public async Task<byte[]> HeapAsync(CancellationToken cancellationToken)
    {
        using var lease = Begin(ProfileKind.Heap);

        // The session induces a full GC and reports the heap during it; once a gen2 GC has ended, it is in.
        var gen2 = GC.CollectionCount(2);
        var request = new EventPipeRequest("heap", RuntimeProviders.HeapSnapshot(), Rundown: false, Stacks: false, 256, _options.MaxRecordingBytes);
        using var trace = await _recorder.RecordAsync(request, async token =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (GC.CollectionCount(2) == gen2 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, token);
            }
        }, cancellationToken);
        await _decode.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() => HeapProfile.Build(trace, MainBinary).ToGzip(), cancellationToken);
        }
        finally
        {
            _decode.Release();
        }
    }

    public async Task<ThreadSnapshot> ThreadsAsync(CancellationToken cancellationToken)
    {
        using var lease = Begin(ProfileKind.Threads);
        var request = new EventPipeRequest("goroutine", RuntimeProviders.Sampling(), Rundown: true, Stacks: true, 16, _options.MaxRecordingBytes);
        using var trace = await _recorder.RecordAsync(request, token => Task.Delay(_options.ThreadSnapshotWindow, token), cancellationToken);
        return await DecodeAsync(trace, (log, stacks) => ThreadSnapshot.Read(log, stacks, trace), cancellationToken);
    }

    /// <summary>A runtime trace, handed over as recorded; the caller sends the file and disposes it.</summary>
    public async Task<RecordedTrace> TraceAsync(TimeSpan window, CancellationToken cancellationToken)
    {
        using var lease = Begin(ProfileKind.Trace);
        var request = new EventPipeRequest("trace", RuntimeProviders.RuntimeTrace(), Rundown: true, Stacks: true, 64, _options.MaxRecordingBytes);
        return await _recorder.RecordAsync(request, token => Task.Delay(window, token), cancellationToken);
    }

    public string? Symbol(ulong address) => _symbols.Lookup(address);

    private Lease Begin(ProfileKind kind)
    {
        if (!_running.TryAdd(kind, true))
        {
            throw new ProfilerBusyException($"a {Describe(kind)} is already being taken; one at a time");
        }

        if (_running.Count > _options.MaxConcurrentProfiles)
        {
            _running.TryRemove(kind, out _);
            throw new ProfilerBusyException($"{_options.MaxConcurrentProfiles} profiles are already being taken");
        }

        return new Lease(this, kind);
    }

    internal static string Describe(ProfileKind kind) => kind switch
    {
        ProfileKind.Cpu => "CPU profile",
        ProfileKind.Allocations => "allocation profile",
        ProfileKind.Heap => "heap profile",
        ProfileKind.Threads => "goroutine (thread stack) profile",
        _ => "runtime trace",
    };

    /// <summary>TraceEvent's decoding, off the request thread and one at a time.</summary>
    private async Task<T> DecodeAsync<T>(RecordedTrace trace, Func<TraceLog, TraceStacks, T> build, CancellationToken cancellationToken)
    {
        await _decode.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() =>
            {
                var etlx = TraceLog.CreateFromEventPipeDataFile(trace.Path, trace.EtlxPath);
                using var log = new TraceLog(etlx);
                using var stacks = new TraceStacks(log);
                var result = build(log, stacks);
                _symbols.Remember(stacks.ResolvedFrames);
                return result;
            }, cancellationToken);
        }
        finally
        {
            _decode.Release();
        }
    }

    public void Dispose() => _decode.Dispose();

    private sealed class Lease(Profiler profiler, ProfileKind kind) : IDisposable
    {
        public void Dispose() => profiler._running.TryRemove(kind, out _);
    }
}
