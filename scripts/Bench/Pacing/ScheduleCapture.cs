using System.Globalization;
using System.IO.Compression;

namespace SrsProxy.Bench.Pacing;

/// <summary>
/// A captured UDP send schedule between an origin and its players (the format of
/// shared/data/srs-origin-schedule-300p.csv.gz): one line per datagram, <c>t_us,dir,player,len</c>, with
/// <c>t_us</c> microseconds since the first datagram, <c>dir</c> <c>d</c> (origin to player) or <c>u</c>
/// (player to origin), <c>player</c> a number from 0, and <c>len</c> the UDP payload in bytes. Plain or gzip.
/// </summary>
internal sealed class ScheduleCapture
{
    /// <summary>A cap on the lines read: 20 million lines are about 40 minutes of 300 players, 320 MB here.</summary>
    public const int MaxDatagrams = 20_000_000;

    /// <summary>The largest UDP payload over IPv4.</summary>
    public const int MaxLength = 65_507;

    private ScheduleCapture(string path, long[] timesUs, bool[] down, int[] players, int[] lengths)
    {
        Path = path;
        TimesUs = timesUs;
        Down = down;
        PlayerOf = players;
        Lengths = lengths;
        Players = players.Length == 0 ? 0 : players.Max() + 1;
        DownCount = down.Count(d => d);
    }

    public string Path { get; }

    /// <summary>Send times in microseconds, in file order (not decreasing).</summary>
    public IReadOnlyList<long> TimesUs { get; }

    /// <summary>True for origin-to-player datagrams.</summary>
    public IReadOnlyList<bool> Down { get; }

    public IReadOnlyList<int> PlayerOf { get; }

    public IReadOnlyList<int> Lengths { get; }

    /// <summary>The highest player number plus one.</summary>
    public int Players { get; }

    public int DownCount { get; }

    public int Count => TimesUs.Count;

    /// <summary>From the first datagram to the last, in microseconds.</summary>
    public long DurationUs => Count == 0 ? 0 : TimesUs[^1] - TimesUs[0];

    /// <summary>Reads a capture; a malformed line fails with its number and what was expected.</summary>
    public static ScheduleCapture Load(string path)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var times = new List<long>();
        var down = new List<bool>();
        var players = new List<int>();
        var lengths = new List<int>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("t_us", StringComparison.Ordinal)))
            {
                continue;
            }

            if (times.Count == MaxDatagrams)
            {
                throw new FormatException($"{path}: more than {MaxDatagrams:N0} datagrams; cut the capture shorter");
            }

            var fields = line.Split(',');
            if (fields.Length != 4 ||
                !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ||
                fields[1] is not ("d" or "u") ||
                !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var player) ||
                !int.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length is < 1 or > MaxLength)
            {
                throw new FormatException($"{path}:{lineNumber}: expected t_us,dir,player,len (e.g. 11558,d,4,134; dir d or u; len 1..{MaxLength}), got \"{Shorten(line)}\"");
            }

            if (times.Count > 0 && t < times[^1])
            {
                throw new FormatException($"{path}:{lineNumber}: t_us {t} is before the line above ({times[^1]}); the capture must be in time order");
            }

            times.Add(t);
            down.Add(fields[1] == "d");
            players.Add(player);
            lengths.Add(length);
        }

        if (!down.Contains(true))
        {
            throw new FormatException($"{path}: no origin-to-player (d) datagram");
        }

        return new ScheduleCapture(path, [.. times], [.. down], [.. players], [.. lengths]);
    }

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "..." : text;
}
