using System.Globalization;

namespace SrsProxy.Profiling;

/// <summary>
/// CPU time the kernel charged to each thread of this process, by OS thread id, in nanoseconds. Linux only
/// (<c>/proc/self/task</c>); elsewhere the answer is empty and CPU profiles fall back to sample counts.
/// </summary>
internal static class ThreadCpuTimes
{
    private const string TaskRoot = "/proc/self/task";

    /// <summary>Linux's USER_HZ, the unit of utime and stime in <c>/proc/.../stat</c>; 100 on every Linux ABI.</summary>
    private const long TicksPerSecond = 100;

    public static bool Available => Directory.Exists(TaskRoot);

    public static Dictionary<int, long> Read()
    {
        var times = new Dictionary<int, long>();
        if (!Available)
        {
            return times;
        }

        foreach (var folder in Directory.EnumerateDirectories(TaskRoot))
        {
            if (int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var tid)
                && TryReadThread(folder, out var nanoseconds))
            {
                times[tid] = nanoseconds;
            }
        }

        return times;
    }

    /// <summary>
    /// Each thread's name as the kernel knows it (<c>comm</c>, 15 characters), read while the threads live:
    /// EventPipe's own threads end with the session.
    /// </summary>
    public static Dictionary<int, string> ReadNames()
    {
        var names = new Dictionary<int, string>();
        if (!Available)
        {
            return names;
        }

        foreach (var folder in Directory.EnumerateDirectories(TaskRoot))
        {
            if (!int.TryParse(Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
            {
                continue;
            }

            try
            {
                names[tid] = File.ReadAllText(Path.Combine(folder, "comm")).Trim();
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return names;
    }

    private static bool TryReadThread(string folder, out long nanoseconds)
    {
        nanoseconds = 0;
        try
        {
            // schedstat: "<ns on cpu> <ns waiting for a cpu> <time slices>", nanosecond resolution.
            var schedstat = File.ReadAllText(Path.Combine(folder, "schedstat"));
            var end = schedstat.IndexOf(' ', StringComparison.Ordinal);
            if (end > 0 && long.TryParse(schedstat.AsSpan(0, end), NumberStyles.None, CultureInfo.InvariantCulture, out nanoseconds))
            {
                return true;
            }
        }
        catch (IOException)
        {
            // The thread ended, or the kernel has no schedstats: try stat.
        }
        catch (UnauthorizedAccessException)
        {
        }

        try
        {
            return TryParseStat(File.ReadAllText(Path.Combine(folder, "stat")), out nanoseconds);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>utime + stime (fields 14 and 15) of a <c>stat</c> line; the name in parentheses may hold spaces.</summary>
    internal static bool TryParseStat(string stat, out long nanoseconds)
    {
        nanoseconds = 0;
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return false;
        }

        // After "pid (comm) " come the fields from 3 (state) on: utime is field 14, stime field 15.
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system))
        {
            return false;
        }

        nanoseconds = (user + system) * (1_000_000_000 / TicksPerSecond);
        return true;
    }
}
