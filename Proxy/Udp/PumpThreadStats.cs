using System.Globalization;

namespace SrsProxy.Udp;

/// <summary>
/// What the kernel counted for one pump thread: CPU time (<c>/proc/self/task/TID/schedstat</c>, nanoseconds on a CPU)
/// and context switches (<c>/proc/self/task/TID/status</c>): voluntary ones are the pump's own sleeps and waits,
/// involuntary ones are preemptions by other threads. A pump near a whole core needs another
/// (<c>PROXY_RTC_PUMPS</c>); many preemptions per wake-up are what <c>PROXY_RTC_PUMP_PRIORITY</c> removes.
/// </summary>
internal readonly record struct PumpThreadStats(double CpuSeconds, long Voluntary, long Involuntary)
{
    /// <summary>The counts of thread <paramref name="threadId"/> of this process; false when it is gone or unreadable.</summary>
    public static bool TryRead(int threadId, out PumpThreadStats stats)
    {
        stats = default;
        if (threadId <= 0)
        {
            return false;
        }

        var folder = $"/proc/self/task/{threadId.ToString(CultureInfo.InvariantCulture)}";
        string schedstat, status;
        try
        {
            schedstat = File.ReadAllText(folder + "/schedstat");
            status = File.ReadAllText(folder + "/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        var end = schedstat.IndexOf(' ', StringComparison.Ordinal);
        if (end <= 0 || !long.TryParse(schedstat.AsSpan(0, end), NumberStyles.None, CultureInfo.InvariantCulture, out var nanoseconds) ||
            Field(status, "voluntary_ctxt_switches:") is not { } voluntary || Field(status, "nonvoluntary_ctxt_switches:") is not { } involuntary)
        {
            return false;
        }

        stats = new PumpThreadStats(nanoseconds / 1e9, voluntary, involuntary);
        return true;
    }

    /// <summary>The number on the line that starts with <paramref name="name"/>, or null.</summary>
    private static long? Field(string status, string name)
    {
        foreach (var line in status.AsSpan().EnumerateLines())
        {
            if (line.StartsWith(name, StringComparison.Ordinal) &&
                long.TryParse(line[name.Length..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }
}
