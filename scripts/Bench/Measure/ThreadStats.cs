using System.Globalization;

namespace SrsProxy.Bench.Measure;

/// <summary>One thread of a process: its name (comm), context switches and CPU time so far.</summary>
internal readonly record struct ThreadSample(string Name, long Voluntary, long Involuntary, double CpuSeconds);

/// <summary>
/// A process's threads from /proc/PID/task/*: <c>voluntary_ctxt_switches</c> counts the times a thread
/// blocked (in epoll_wait, recvmsg, a futex...) and so was woken up again: its wake-ups. Involuntary ones are
/// preemptions. Deltas are taken per thread id; a thread that started in the window counts from zero, one that
/// ended in it is lost (a note says how many).
/// </summary>
internal static class ThreadStats
{
    /// <summary>USER_HZ, as in <see cref="ProcessStats"/>.</summary>
    private const double ClockTicksPerSecond = 100;

    public static Dictionary<int, ThreadSample>? Sample(int pid)
    {
        var threads = new Dictionary<int, ThreadSample>();
        try
        {
            foreach (var directory in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var tid))
                {
                    continue;
                }

                try
                {
                    long voluntary = 0, involuntary = 0;
                    foreach (var line in File.ReadLines(Path.Combine(directory, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            voluntary = long.Parse(line.AsSpan("voluntary_ctxt_switches:".Length).Trim(), CultureInfo.InvariantCulture);
                        }
                        else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            involuntary = long.Parse(line.AsSpan("nonvoluntary_ctxt_switches:".Length).Trim(), CultureInfo.InvariantCulture);
                        }
                    }

                    // utime and stime, as in ProcessStats: fields 12 and 13 after the command's closing parenthesis.
                    var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    var cpu = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
                    var name = File.ReadAllText(Path.Combine(directory, "comm")).TrimEnd('\n');
                    threads[tid] = new ThreadSample(name, voluntary, involuntary, cpu);
                }
                catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
                {
                    // The thread ended while it was read.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return threads;
    }

    /// <summary>Per thread name (threads of one name summed): wake-ups, preemptions and CPU over the window.</summary>
    public static WakeUps Between(Dictionary<int, ThreadSample> start, Dictionary<int, ThreadSample> end, double seconds, long datagrams)
    {
        var rows = new Dictionary<string, (int Threads, long Voluntary, long Involuntary, double Cpu)>(StringComparer.Ordinal);
        foreach (var (tid, e) in end)
        {
            var s = start.GetValueOrDefault(tid, new ThreadSample(e.Name, 0, 0, 0));
            var row = rows.GetValueOrDefault(e.Name);
            rows[e.Name] = (row.Threads + 1, row.Voluntary + (e.Voluntary - s.Voluntary), row.Involuntary + (e.Involuntary - s.Involuntary), row.Cpu + (e.CpuSeconds - s.CpuSeconds));
        }

        var voluntary = rows.Values.Sum(r => r.Voluntary);
        return new WakeUps
        {
            Total = voluntary,
            Involuntary = rows.Values.Sum(r => r.Involuntary),
            PerDatagram = datagrams > 0 ? voluntary / (double)datagrams : null,
            ThreadsEnded = start.Keys.Count(tid => !end.ContainsKey(tid)),
            ThreadsStarted = end.Keys.Count(tid => !start.ContainsKey(tid)),
            ByThread = [.. rows
                .Select(r => new ThreadWakeUps(r.Key, r.Value.Threads, r.Value.Voluntary / seconds, r.Value.Involuntary / seconds, 100 * r.Value.Cpu / seconds))
                .OrderByDescending(r => r.WakeUpsPerSecond).ThenByDescending(r => r.CpuPercentOfCore)],
        };
    }
}

/// <summary>Voluntary context switches (wake-ups) of all a process's threads over the window.</summary>
internal sealed record WakeUps
{
    public required long Total { get; init; }

    public required long Involuntary { get; init; }

    /// <summary>Wake-ups per relayed datagram; null when none was relayed.</summary>
    public required double? PerDatagram { get; init; }

    public required int ThreadsEnded { get; init; }

    public required int ThreadsStarted { get; init; }

    public required IReadOnlyList<ThreadWakeUps> ByThread { get; init; }
}

internal sealed record ThreadWakeUps(string Name, int Threads, double WakeUpsPerSecond, double PreemptionsPerSecond, double CpuPercentOfCore);
