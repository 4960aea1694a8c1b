using Microsoft.Diagnostics.Tracing.Etlx;

namespace SrsProxy.Profiling;

/// <summary>
/// The CPU profile (<c>/debug/pprof/profile</c>): EventPipe's thread samples, without the samples of
/// threads that were waiting, each thread's samples weighted by the CPU time the kernel charged to that
/// thread over the window. A thread that ran 40 ms in 5 s with 200 running samples gives each 0.2 ms.
/// </summary>
internal static class CpuProfile
{
    /// <summary>EventPipe's sampler visits each managed thread about once a millisecond.</summary>
    public const long SamplePeriodNanoseconds = 1_000_000;

    public static ProfileBuilder Build(TraceLog log, TraceStacks stacks, RecordedTrace trace,
        IReadOnlyDictionary<int, long> cpuBefore, IReadOnlyDictionary<int, long> cpuAfter, IReadOnlyDictionary<int, string> threadNames, string mainBinary)
    {
        var threads = new Dictionary<int, ThreadSamples>();
        foreach (var e in log.Events)
        {
            if (!RuntimeProviders.IsThreadSample(e))
            {
                continue;
            }

            if (!threads.TryGetValue(e.ThreadID, out var thread))
            {
                thread = new ThreadSamples();
                threads.Add(e.ThreadID, thread);
            }

            var stack = e.CallStack();
            if (stack is null)
            {
                continue;
            }

            var frames = WaitFrames.TrimArtefacts(stacks.Frames(stack));
            if (frames.Count == 0 || WaitFrames.IsWaiting(frames))
            {
                continue;
            }

            thread.Running[stack.CallStackIndex] = thread.Running.GetValueOrDefault(stack.CallStackIndex) + 1;
            thread.RunningCount++;
            thread.Stacks[stack.CallStackIndex] = frames;
        }

        var builder = new ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], mainBinary)
        {
            Time = trace.Started,
            Duration = trace.Window,
        };
        builder.SetPeriod("cpu", "nanoseconds", SamplePeriodNanoseconds);
        builder.SetDefaultSampleType("cpu");

        var weighted = cpuAfter.Count > 0;
        long attributed = 0, unattributed = 0, measured = 0;
        var unsampled = new List<(int Tid, long Cpu)>();
        foreach (var (tid, cpu) in cpuAfter)
        {
            var delta = Math.Max(0, cpu - cpuBefore.GetValueOrDefault(tid));
            measured += delta;
            if (!threads.TryGetValue(tid, out var thread) || thread.RunningCount == 0)
            {
                unattributed += delta;
                unsampled.Add((tid, delta));
            }
        }

        Span<long> values = stackalloc long[2];
        foreach (var (tid, thread) in threads)
        {
            if (thread.RunningCount == 0)
            {
                continue;
            }

            long perSample;
            if (weighted)
            {
                var delta = Math.Max(0, cpuAfter.GetValueOrDefault(tid) - cpuBefore.GetValueOrDefault(tid));
                perSample = delta / thread.RunningCount;
            }
            else
            {
                perSample = SamplePeriodNanoseconds;
            }

            foreach (var (index, count) in thread.Running)
            {
                values[0] = count;
                values[1] = count * perSample;
                attributed += values[1];
                builder.AddSample(thread.Stacks[index], values);
            }
        }

        builder.AddComment(weighted
            ? "cpu: EventPipe thread samples of running threads, weighted by each thread's CPU time from /proc/self/task/*/schedstat"
            : "cpu: EventPipe thread samples of running threads, 1 ms each (per-thread CPU times not available on this OS)");
        builder.AddComment($"cpu: {measured / 1_000_000} ms measured on all threads over {trace.Window.TotalSeconds:F1} s, {attributed / 1_000_000} ms attributed; "
            + $"{unattributed / 1_000_000} ms ran on threads never sampled running (native runtime threads, or only seen waiting)");
        var busiest = unsampled.Where(t => t.Cpu >= 1_000_000).OrderByDescending(t => t.Cpu).Take(5).ToList();
        if (busiest.Count > 0)
        {
            builder.AddComment("cpu: not attributed: " + string.Join(", ", busiest.Select(t => $"{threadNames.GetValueOrDefault(t.Tid, "thread")} ({t.Tid}) {t.Cpu / 1_000_000} ms")));
        }

        return builder;
    }

    private sealed class ThreadSamples
    {
        public int RunningCount;
        public readonly Dictionary<CallStackIndex, int> Running = [];
        public readonly Dictionary<CallStackIndex, ArraySegment<StackFrameInfo>> Stacks = [];
    }
}
