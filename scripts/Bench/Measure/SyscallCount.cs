using System.Diagnostics;
using System.Globalization;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// A process's system calls over a sub-window, counted by <c>perf stat</c> on the kernel's syscall
/// tracepoints (Debian: linux-perf): all of them (<c>raw_syscalls:sys_enter</c>) and the relay's own kinds.
/// Counting costs the process a little on every system call, so it runs after the measured window, never in
/// it. When perf is missing or may not trace, the reason is kept instead.
/// </summary>
internal static class SyscallCount
{
    public const string Total = "raw_syscalls:sys_enter";

    /// <summary>The kinds a UDP relay makes per datagram or per wake-up; ones the kernel lacks are left out.</summary>
    private static readonly string[] Kinds =
        ["recvmmsg", "recvmsg", "recvfrom", "sendmmsg", "sendmsg", "sendto", "epoll_wait", "epoll_pwait", "futex"];

    /// <summary>Counts over <paramref name="seconds"/>; the counts by event, or why there are none.</summary>
    public static async Task<(Dictionary<string, long>? Counts, string? Failure)> CountAsync(int pid, double seconds, CancellationToken cancellationToken)
    {
        var perf = FindOnPath("perf");
        if (perf is null)
        {
            return (null, "perf not installed (Debian: apt-get install linux-perf)");
        }

        var events = new List<string> { Total };
        events.AddRange(Kinds.Where(k => Directory.Exists($"/sys/kernel/tracing/events/syscalls/sys_enter_{k}") ||
            Directory.Exists($"/sys/kernel/debug/tracing/events/syscalls/sys_enter_{k}")).Select(k => $"syscalls:sys_enter_{k}"));
        var start = new ProcessStartInfo(perf)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "stat", "-x", ",", "-e", string.Join(',', events), "-p", pid.ToString(CultureInfo.InvariantCulture), "--", "sleep", seconds.ToString("0.###", CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var text = await stderr;

        // -x , lines: value,unit,event,run time,percentage,...; "<not supported>" or "<not counted>" otherwise.
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split(',');
            if (fields.Length >= 3 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                counts[fields[2]] = value;
            }
        }

        if (process.ExitCode != 0 || !counts.ContainsKey(Total))
        {
            var reason = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"exit code {process.ExitCode}";
            return (null, $"perf stat failed: {reason}");
        }

        return (counts, null);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
