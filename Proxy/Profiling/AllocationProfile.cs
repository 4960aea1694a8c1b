using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace SrsProxy.Profiling;

/// <summary>
/// The allocation profile (<c>/debug/pprof/allocs</c>): the GC's AllocationTick events over a window. The
/// runtime raises one each time a thread has allocated about 100 KB, with the stack and the type of the
/// object that crossed the line; each tick stands for those 100 KB, and for 100 KB / object size objects.
/// </summary>
internal static class AllocationProfile
{
    /// <summary>The runtime's AllocationTick threshold.</summary>
    public const long TickBytes = 100 * 1024;

    public static ProfileBuilder Build(TraceLog log, TraceStacks stacks, RecordedTrace trace, string mainBinary)
    {
        var builder = new ProfileBuilder([("alloc_objects", "count"), ("alloc_space", "bytes")], mainBinary)
        {
            Time = trace.Started,
            Duration = trace.Window,
        };
        builder.SetPeriod("space", "bytes", TickBytes);
        builder.SetDefaultSampleType("alloc_space");

        Span<long> values = stackalloc long[2];
        long ticks = 0, bytes = 0;
        foreach (var e in log.Events)
        {
            if (e is not GCAllocationTickTraceData tick)
            {
                continue;
            }

            var amount = tick.AllocationAmount64 > 0 ? tick.AllocationAmount64 : tick.AllocationAmount;
            values[0] = tick.ObjectSize > 0 ? Math.Max(1, amount / tick.ObjectSize) : 1;
            values[1] = amount;
            ticks++;
            bytes += amount;
            var type = string.IsNullOrEmpty(tick.TypeName) ? "?" : tick.TypeName;
            builder.AddSample(WaitFrames.TrimArtefacts(stacks.Frames(e.CallStack())), values,
                ProfileLabel.Of("type", type), ProfileLabel.Of("heap", tick.AllocationKind.ToString()));
        }

        builder.AddComment($"allocs: {ticks} GC AllocationTick samples (one per ~100 KB allocated) over {trace.Window.TotalSeconds:F1} s, {bytes / 1024} KiB; "
            + "objects are estimated from the size of the sampled object");
        return builder;
    }
}
