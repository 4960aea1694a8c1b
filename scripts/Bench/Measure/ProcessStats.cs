using System.Globalization;

namespace SrsProxy.Bench.Measure;

/// <summary>A process's CPU time, RSS and threads from /proc (Linux).</summary>
internal readonly record struct ProcessSample(double UserSeconds, double SystemSeconds, long RssBytes, int Threads)
{
    public double CpuSeconds => UserSeconds + SystemSeconds;
}

/// <summary>All CPUs' time since boot: busy (steal excluded), total, and what the hypervisor took (steal).</summary>
internal readonly record struct MachineSample(double BusySeconds, double TotalSeconds, double StealSeconds);

internal static class ProcessStats
{
    /// <summary>
    /// USER_HZ, the unit of /proc's CPU times. 100 on every Linux architecture .NET runs on; the kernel
    /// exports it as a constant to user space (sysconf(_SC_CLK_TCK)).
    /// </summary>
    private const double ClockTicksPerSecond = 100;

    public static ProcessSample? Sample(int pid)
    {
        try
        {
            // Fields after the command name, which is in parentheses and may contain spaces: utime and stime
            // are fields 14 and 15 of the line (proc(5)), 12 and 13 after the closing parenthesis.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var user = long.Parse(fields[11], CultureInfo.InvariantCulture) / ClockTicksPerSecond;
            var system = long.Parse(fields[12], CultureInfo.InvariantCulture) / ClockTicksPerSecond;
            long rss = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line[8..].Trim(), CultureInfo.InvariantCulture);
                }
            }

            return new ProcessSample(user, system, rss, threads);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    public static MachineSample Machine()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = fields.Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var total = values.Sum();

        // idle and iowait are the 4th and 5th values, steal the 8th: time a virtual machine's CPUs were ready to
        // run and the hypervisor ran something else. Busy is what ran here.
        var steal = values.Length > 7 ? values[7] : 0;
        var busy = total - values[3] - values[4] - steal;
        return new MachineSample(busy / ClockTicksPerSecond, total / ClockTicksPerSecond, steal / ClockTicksPerSecond);
    }

    /// <summary>
    /// The process that listens on TCP <paramref name="port"/>, found through /proc/net/tcp (the socket's
    /// inode) and every process's fd links: how an external proxy's CPU and memory are measured when only its
    /// addresses are given. Null when it cannot be told (another user's process without root, or no listener).
    /// </summary>
    public static int? FindTcpListener(int port)
    {
        // Column 4 is the socket state; 0A is TCP_LISTEN.
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        string? inode = null;
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[1].EndsWith(hexPort, StringComparison.Ordinal) && fields[3] == "0A")
                {
                    inode = fields[9];
                    break;
                }
            }

            if (inode is not null)
            {
                break;
            }
        }

        if (inode is null)
        {
            return null;
        }

        var target = $"socket:[{inode}]";
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(directory, "fd")))
                {
                    if (new FileInfo(fd).LinkTarget == target)
                    {
                        return pid;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }
}
