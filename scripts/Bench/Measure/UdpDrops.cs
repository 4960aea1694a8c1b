using System.Globalization;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// The kernel's per-socket UDP drop counters (the last column of /proc/net/udp: datagrams that arrived to a
/// full receive buffer), by socket inode. A relay cannot count these itself, and they tell whose buffer
/// overflowed when players see loss the relay's own counters do not show.
/// </summary>
internal sealed class UdpDrops
{
    private readonly Dictionary<string, (int Port, long Drops)> _sockets;

    private UdpDrops(Dictionary<string, (int Port, long Drops)> sockets) => _sockets = sockets;

    public static UdpDrops Sample()
    {
        var sockets = new Dictionary<string, (int, long)>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/udp", "/proc/net/udp6" })
        {
            try
            {
                foreach (var line in File.ReadLines(table).Skip(1))
                {
                    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length < 13)
                    {
                        continue;
                    }

                    var local = fields[1];
                    var port = int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    sockets[fields[9]] = (port, long.Parse(fields[12], CultureInfo.InvariantCulture));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }

        return new UdpDrops(sockets);
    }

    /// <summary>The socket inodes a process holds (its fd links "socket:[N]"); empty when it cannot be read.</summary>
    public static HashSet<string> InodesOf(int pid)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                {
                    inodes.Add(target[8..^1]);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return inodes;
    }

    /// <summary>Drops between two samples over the sockets <paramref name="select"/> picks (inode, local port).</summary>
    public static long Between(UdpDrops start, UdpDrops end, Func<string, int, bool> select)
    {
        long drops = 0;
        foreach (var (inode, (port, count)) in end._sockets)
        {
            if (select(inode, port))
            {
                drops += count - (start._sockets.TryGetValue(inode, out var before) ? before.Drops : 0);
            }
        }

        return drops;
    }
}
