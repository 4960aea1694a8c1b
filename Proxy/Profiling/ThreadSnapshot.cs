using System.Globalization;
using System.Text;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace SrsProxy.Profiling;

/// <summary>
/// The stacks of all managed threads now: the .NET counterpart of Go's goroutine profile
/// (<c>/debug/pprof/goroutine</c>). EventPipe cannot dump stacks on demand, so a short sampler session visits
/// every managed thread several times and the latest stack of each is kept.
/// </summary>
internal sealed class ThreadSnapshot
{
    private ThreadSnapshot(IReadOnlyList<ThreadStack> threads, RecordedTrace trace, RuntimeCounts counts)
    {
        Threads = threads;
        Started = trace.Started;
        Window = trace.Window;
        Counts = counts;
    }

    public IReadOnlyList<ThreadStack> Threads { get; }

    public DateTimeOffset Started { get; }

    public TimeSpan Window { get; }

    public RuntimeCounts Counts { get; }

    public static ThreadSnapshot Read(TraceLog log, TraceStacks stacks, RecordedTrace trace)
    {
        var latest = new Dictionary<int, ThreadStack>();
        foreach (var e in log.Events)
        {
            if (!RuntimeProviders.IsThreadSample(e))
            {
                continue;
            }

            var frames = WaitFrames.TrimArtefacts(stacks.Frames(e.CallStack()));
            var mode = e.PayloadByName("Type")?.ToString() ?? "";
            latest[e.ThreadID] = new ThreadStack(e.ThreadID, frames, WaitFrames.IsWaiting(frames), mode);
        }

        var threads = latest.Values.Where(t => t.Frames.Count > 0).OrderBy(t => t.ThreadId).ToArray();
        return new ThreadSnapshot(threads, trace, RuntimeCounts.Now());
    }

    public ProfileBuilder ToProfile(string mainBinary)
    {
        var builder = new ProfileBuilder([("goroutine", "count")], mainBinary) { Time = Started, Duration = Window };
        builder.SetPeriod("goroutine", "count", 1);
        foreach (var thread in Threads)
        {
            builder.AddSample(thread.Frames, [1]);
        }

        builder.AddComment($"goroutine: the {Threads.Count} managed threads with managed frames, sampled by EventPipe over {Window.TotalMilliseconds:F0} ms");
        builder.AddComment(Counts.ToString());
        return builder;
    }

    /// <summary>Go's <c>?debug=1</c> text: identical stacks grouped, most frequent first, with addresses pprof can parse.</summary>
    public string ToGroupedText()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"goroutine profile: total {Threads.Count}\n");
        text.Append(CultureInfo.InvariantCulture, $"# .NET managed threads, sampled by EventPipe over {Window.TotalMilliseconds:F0} ms; frames are JIT'd code addresses\n");
        text.Append("# ").Append(Counts).Append('\n');
        var groups = Threads
            .GroupBy(t => string.Join(' ', t.Frames.Select(f => f.Address.ToString("x", CultureInfo.InvariantCulture))))
            .Select(g => (Count: g.Count(), Frames: g.First().Frames))
            .OrderByDescending(g => g.Count);
        foreach (var (count, frames) in groups)
        {
            text.Append(count.ToString(CultureInfo.InvariantCulture)).Append(" @");
            foreach (var frame in frames)
            {
                text.Append(CultureInfo.InvariantCulture, $" {Hex(frame.Address)}");
            }

            text.Append('\n');
            foreach (var frame in frames)
            {
                text.Append(CultureInfo.InvariantCulture, $"#\t{Hex(frame.Address)}\t{frame.Function}\t{Where(frame)}\n");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Go's <c>?debug=2</c> text: every thread on its own, with full method signatures.</summary>
    public string ToFullText()
    {
        var text = new StringBuilder();
        text.Append("# .NET managed threads; the number after \"goroutine\" is the OS thread id\n");
        text.Append("# ").Append(Counts).Append("\n\n");
        foreach (var thread in Threads)
        {
            var state = thread.Waiting ? "waiting" : "running";
            var mode = thread.Mode.Length > 0 ? $", {thread.Mode.ToLowerInvariant()} code" : "";
            text.Append(CultureInfo.InvariantCulture, $"goroutine {thread.ThreadId} [{state}{mode}]:\n");
            foreach (var frame in thread.Frames)
            {
                var signature = frame.SystemName;
                var bang = signature.IndexOf('!', StringComparison.Ordinal);
                text.Append(bang >= 0 ? signature[(bang + 1)..] : signature).Append('\n');
                text.Append(CultureInfo.InvariantCulture, $"\t{Where(frame)} {Hex(frame.Address)}\n");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    private static string Hex(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);

    private static string Where(StackFrameInfo frame) =>
        frame.File.Length > 0 ? $"{frame.File}:{frame.Line}" : $"[{frame.Module}]";
}

/// <summary>One managed thread's latest sampled stack, leaf first.</summary>
internal sealed record ThreadStack(int ThreadId, IReadOnlyList<StackFrameInfo> Frames, bool Waiting, string Mode);
