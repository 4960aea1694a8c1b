namespace SrsProxy.Profiling.Perf;

/// <summary>
/// The CPU profile (<c>/debug/pprof/profile</c>) from kernel CPU-time samples: each sample is one period of
/// a thread's CPU time with its whole call chain, the kernel's frames (system calls, the network stack)
/// under the managed and native frames that made them. Managed frames are named from the runtime's method
/// events, native ones from their files' ELF symbols, kernel ones from <c>/proc/kallsyms</c>. Each sample
/// carries its thread's name as the label <c>thread</c>.
/// </summary>
internal static class PerfCpuProfile
{
    /// <summary>The profile, and every frame it named (for <c>/debug/pprof/symbol</c>).</summary>
    public static (ProfileBuilder Profile, IEnumerable<StackFrameInfo> Frames) Build(PerfSamples samples, ManagedCode managed, NativeCode native,
        KernelSymbols? kernel, DateTimeOffset started, TimeSpan window, long measuredNanoseconds, string mainBinary)
    {
        var builder = new ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], mainBinary)
        {
            Time = started,
            Duration = window,
        };
        builder.SetPeriod("cpu", "nanoseconds", samples.PeriodNanoseconds);
        builder.SetDefaultSampleType("cpu");

        var resolver = new FrameResolver(managed, native, kernel);
        Span<long> values = stackalloc long[2];
        var frames = new List<StackFrameInfo>(64);
        foreach (var (key, count) in samples.Counts)
        {
            frames.Clear();
            resolver.Resolve(key, frames);
            if (frames.Count == 0)
            {
                continue;
            }

            values[0] = count;
            values[1] = count * samples.PeriodNanoseconds;
            builder.AddSample(frames, values, new ProfileLabel("thread", samples.ThreadNames.GetValueOrDefault(key.Tid, "thread")));
        }

        var sampledMilliseconds = samples.Samples * samples.PeriodNanoseconds / 1_000_000;
        builder.AddComment($"cpu: perf_event CPU-time sampling {(samples.PerCpu ? "per CPU" : "per thread")}, one sample per {samples.PeriodNanoseconds / 1000} µs of a thread's CPU, "
            + (samples.KernelFrames ? "kernel and user frames" : "user frames only (this process may not see the kernel's; CAP_PERFMON or kernel.perf_event_paranoid <= 1 allows it)"));
        builder.AddComment($"cpu: {measuredNanoseconds / 1_000_000} ms measured on all threads over {window.TotalSeconds:F1} s, {sampledMilliseconds} ms sampled "
            + $"({samples.Samples} samples of {samples.Threads} threads; {samples.Lost} lost, {samples.Dropped} past the distinct-stack cap)");
        builder.AddComment(managed.Unavailable is { } reason
            ? $"cpu: managed code not named: {reason}"
            : $"cpu: code named from the runtime's rundown: {managed.Described} methods, {managed.Count} of them sampled ({managed.Mapped} with line maps)"
                + (managed.EventsLost > 0 ? $"; {managed.EventsLost} rundown events lost, some code unnamed" : ""));
        return (builder, resolver.Frames);
    }

    /// <summary>Every user-space address in the samples, sorted and distinct: what the method table must name.</summary>
    public static ulong[] UserAddresses(PerfSamples samples)
    {
        var addresses = new HashSet<ulong>();
        foreach (var key in samples.Counts.Keys)
        {
            foreach (var (address, kernel, _) in key.Frames())
            {
                if (!kernel)
                {
                    addresses.Add(address);
                }
            }
        }

        var sorted = addresses.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>Names a chain's addresses, each once per profile; leaf first, as the chain is.</summary>
    private sealed class FrameResolver(ManagedCode managed, NativeCode native, KernelSymbols? kernel)
    {
        private readonly Dictionary<(ulong Address, bool Return), StackFrameInfo> _known = [];

        public IEnumerable<StackFrameInfo> Frames => _known.Values;

        public void Resolve(ChainKey chain, List<StackFrameInfo> frames)
        {
            foreach (var (address, kernel, returnAddress) in chain.Frames())
            {
                var key = (address, returnAddress);
                if (!_known.TryGetValue(key, out var frame))
                {
                    frame = kernel ? Kernel(address, returnAddress) : User(address, returnAddress);
                    _known.Add(key, frame);
                }

                frames.Add(frame);
            }
        }

        private StackFrameInfo Kernel(ulong address, bool returnAddress)
        {
            var name = kernel?.Lookup(returnAddress ? address - 1 : address) ?? KernelSymbols.Module;
            return new StackFrameInfo(address, name, $"{KernelSymbols.Module}!{name}", KernelSymbols.Module, "", 0);
        }

        private StackFrameInfo User(ulong address, bool returnAddress)
        {
            if (managed.Lookup(address, returnAddress) is { } method)
            {
                return method;
            }

            if (native.Lookup(returnAddress ? address - 1 : address) is var (function, module))
            {
                return new StackFrameInfo(address, function, $"{module}!{function}", module, "", 0);
            }

            return new StackFrameInfo(address, StackFrameInfo.Unresolved, $"?!0x{address:x}", "?", "", 0);
        }
    }
}
