using System.Globalization;
using SrsProxy.Bench.Pacing;

namespace SrsProxy.Bench;

/// <summary>What one benchmark run does; every option has a default that reproduces the seed workload.</summary>
internal sealed record BenchOptions
{
    /// <summary>
    /// How the origin simulator spaces its sends. Defaults to <see cref="PacingMode.Srs"/>, because a relay's
    /// cost depends on how its input arrives, and a real SRS origin spreads its sends (see <see cref="SrsOriginFit"/>).
    /// </summary>
    public PacingMode Pacing { get; init; } = PacingMode.Srs;

    /// <summary>A capture to replay (<see cref="PacingMode.Replay"/>), in the format of <see cref="ScheduleCapture"/>.</summary>
    public string? OriginSchedule { get; init; }

    /// <summary>
    /// How players reach the proxy (<c>--transport</c>): <c>udp</c>, or <c>tcp</c> for ICE-TCP (RFC 6544: RFC 4571
    /// frames on a TCP connection to the answer's passive TCP candidate, a binding request first). Defaults to udp.
    /// Direct mode is always UDP: the origin simulator, like SRS behind the proxy, has no TCP candidate.
    /// </summary>
    public string Transport { get; init; } = "udp";

    /// <summary>Players per mode. Defaults to 100.</summary>
    public int Players { get; init; } = 100;

    /// <summary>
    /// Media bitrate per player in bit/s (<c>--bitrate</c>). Burst pacing sends <see cref="BurstBitrate"/>;
    /// srs pacing scales its video to it (<see cref="SrsOriginFit.ScaledTo"/>) and sends the captured rate
    /// without it.
    /// </summary>
    public long? Bitrate { get; init; }

    /// <summary>Burst pacing's bitrate: <see cref="Bitrate"/>, or 200 kbit/s, the seed workload's stream.</summary>
    public long BurstBitrate => Bitrate ?? 200_000;

    /// <summary>
    /// Media datagram size in bytes. Defaults to 250, because 200 kbit/s in 250-byte datagrams is 100
    /// datagrams/s per player, the rate of the reference measurements (H.264 + Opus, ~105/s).
    /// </summary>
    public int PacketSize { get; init; } = 250;

    /// <summary>Steady-state window in seconds. Defaults to 30, as the profiling guide asks.</summary>
    public double Seconds { get; init; } = 30;

    /// <summary>Warm-up after every player is connected, before the window. Defaults to 5 s.</summary>
    public double Warmup { get; init; } = 5;

    /// <summary>
    /// RTCP feedback datagrams per second per player, upstream (burst pacing; the others send the captured
    /// feedback). Defaults to 10: a browser sends transport-wide congestion control feedback about every 100 ms,
    /// receiver reports once a second.
    /// </summary>
    public double FeedbackRate { get; init; } = 10;

    /// <summary>Feedback datagram size. Defaults to 80 bytes, a typical TWCC feedback packet.</summary>
    public int FeedbackSize { get; init; } = 80;

    /// <summary>The origin's pacing tick in milliseconds (burst pacing). Defaults to 5 ms.</summary>
    public double TickMs { get; init; } = 5;

    /// <summary>WHEP offers in flight at once while players connect. Defaults to 16.</summary>
    public int ConnectConcurrency { get; init; } = 16;

    /// <summary>
    /// Modes in run order: "proxy", "floor" (a minimal C relay making the proxy pump's system calls, see
    /// Floor/floor-relay.c), "direct". Defaults to proxy then direct.
    /// </summary>
    public IReadOnlyList<string> Modes { get; init; } = ["proxy", "direct"];

    /// <summary>The floor mode's relay, built from Floor/floor-relay.c (scripts/bench builds it when the modes name it).</summary>
    public string? FloorRelay { get; init; }

    /// <summary>The floor relay's sleep after each wake-up's work, as the proxy's PROXY_RTC_COALESCE (250 µs).</summary>
    public int FloorCoalesceUs { get; init; } = 250;

    /// <summary>The proxy's signalling API base, e.g. http://127.0.0.1:11985. Needed for the proxy mode.</summary>
    public Uri? ProxyApi { get; init; }

    /// <summary>The proxy's system API base (registration, /metrics), e.g. http://127.0.0.1:12025.</summary>
    public Uri? ProxySystem { get; init; }

    /// <summary>The proxy's process id for CPU and RSS; found from its UDP port when not given.</summary>
    public int? ProxyPid { get; init; }

    /// <summary>The proxy's pprof base, e.g. http://127.0.0.1:6060; used with <see cref="Profile"/>.</summary>
    public Uri? Pprof { get; init; }

    /// <summary>Save a CPU and an allocation profile from the pprof endpoint during the steady window.</summary>
    public bool Profile { get; init; }

    /// <summary>CPU samples per second the profile asks for (<c>?hz=</c>); null: the proxy's default (Go's 100).</summary>
    public int? ProfileHz { get; init; }

    /// <summary>
    /// Takes pprof heap profiles (idle, half and all connected) for the live managed heap per session. Off by
    /// default: a heap profile loads the profiler into the proxy and grows its heap, which would then be
    /// counted in the proxy's RSS.
    /// </summary>
    public bool Heap { get; init; }

    /// <summary>Exit 1 when any media datagram sent in the window was not received (proxy or direct).</summary>
    public bool AssertNoLoss { get; init; }

    /// <summary>Where the JSON and markdown reports (and profiles) go.</summary>
    public string OutputDirectory { get; init; } = "artifacts/bench";

    /// <summary>A free-form label written into the report, e.g. the proxy's name or commit.</summary>
    public string Label { get; init; } = "";

    public string App { get; init; } = "live";

    public string Stream { get; init; } = "bench";

    /// <summary>Media datagrams per second per player, for burst pacing.</summary>
    public double PacketRate => BurstBitrate / 8.0 / PacketSize;

    public const string Usage = """
        usage: srs-proxy-bench [options]
               srs-proxy-bench fit-schedule FILE [--players N] [--seconds S] [--bitrate R] [--code]   (fits srs pacing to a capture)
          --players N              players per mode (100)
          --transport udp|tcp      how players reach the proxy (udp); tcp: ICE-TCP, RFC 4571 frames on one
                                   TCP connection per player (proxy mode only; direct stays UDP)
          --pacing srs|burst       how the origin sends (srs):
                                     srs: like a real SRS origin, fitted to a capture: each media packet to one
                                          player after another, its gaps and bursts; captured audio, video and
                                          feedback (README, Performance)
                                     burst: each tick, every player's datagrams back to back, at --bitrate
          --bitrate R              media bitrate per player: 200k, 1M, 250000
                                     srs: the captured audio, the video frames scaled to make R in all
                                          (without it: the captured ~227 kbit/s)
                                     burst: R (200k)
          --origin-schedule FILE   replay a capture (t_us,dir,player,len; .csv or .csv.gz) exactly, looped;
                                   captured player i -> player i mod N (more players than captured: player j
                           gets captured player j mod C's datagrams too)
          --seconds S              steady-state window (30)
          --warmup S               warm-up after all players connected (5)
        burst pacing only:
          --packet-size B          media datagram size, 64..1400 (250)
          --feedback-rate R        RTCP feedback datagrams/s per player, upstream (10)
          --feedback-size B        feedback datagram size (80)
          --tick-ms MS             origin pacing tick (5)
        other options:
          --connect-concurrency N  WHEP offers in flight at once (16)
          --modes proxy,direct     modes to run, in order (proxy,direct); floor is a third: a minimal C relay
                                   making the proxy pump's system calls (scripts/Bench/Floor/floor-relay.c), what
                                   this traffic costs the kernel with that design, e.g. --modes proxy,floor,direct
          --floor-relay PATH       the floor mode's relay binary (scripts/bench builds and passes it)
          --floor-coalesce-us N    the floor relay's sleep after each wake-up, as PROXY_RTC_COALESCE (250)
          --proxy-api URL          proxy signalling API, e.g. http://127.0.0.1:11985
          --proxy-system URL       proxy system API (register, /metrics), e.g. http://127.0.0.1:12025
          --proxy-pid PID          proxy process for CPU/RSS (default: the owner of its UDP port)
          --pprof URL              proxy pprof base, e.g. http://127.0.0.1:6060
          --profile                save CPU and allocation profiles during the window
          --profile-hz N           the same, the CPU profile at N samples per second of CPU (the proxy's
                                   default is Go's 100; 1000 for finer detail)
          --heap                   also measure the live managed heap with pprof heap profiles (the profiler
                                   then counts in the proxy's RSS)
          --assert-no-loss         exit 1 if any datagram of the window was lost
          --out DIR                report directory (artifacts/bench)
          --label TEXT             label written into the report
          --app A --stream S       stream the players play (live/bench)
        """;

    private static string ParseTransport(string text) =>
        text is "udp" or "tcp" ? text : throw new FormatException($"--transport {text}: expected udp or tcp");

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        var burstOnly = new List<string>();
        string? pacing = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "--packet-size" or "--feedback-rate" or "--feedback-size" or "--tick-ms")
            {
                burstOnly.Add(name);
            }

            string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{name}: missing value");
            o = name switch
            {
                "--players" => o with { Players = Int(name, Next(), 1, 20_000) },
                "--pacing" => o with { Pacing = ParsePacing(pacing = Next()) },
                "--transport" => o with { Transport = ParseTransport(Next()) },
                "--origin-schedule" => o with { Pacing = PacingMode.Replay, OriginSchedule = Next() },
                "--bitrate" => o with { Bitrate = Rate(name, Next()) },
                "--packet-size" => o with { PacketSize = Int(name, Next(), MediaPacket.MinSize, 1400) },
                "--seconds" => o with { Seconds = Double(name, Next(), 1, 3600) },
                "--warmup" => o with { Warmup = Double(name, Next(), 0, 600) },
                "--feedback-rate" => o with { FeedbackRate = Double(name, Next(), 0, 1000) },
                "--feedback-size" => o with { FeedbackSize = Int(name, Next(), MediaPacket.MinSize, 1400) },
                "--tick-ms" => o with { TickMs = Double(name, Next(), 1, 100) },
                "--connect-concurrency" => o with { ConnectConcurrency = Int(name, Next(), 1, 256) },
                "--modes" => o with { Modes = ParseModes(Next()) },
                "--floor-relay" => o with { FloorRelay = Next() },
                "--floor-coalesce-us" => o with { FloorCoalesceUs = Int(name, Next(), 0, 100_000) },
                "--proxy-api" => o with { ProxyApi = Url(name, Next()) },
                "--proxy-system" => o with { ProxySystem = Url(name, Next()) },
                "--proxy-pid" => o with { ProxyPid = Int(name, Next(), 1, int.MaxValue) },
                "--pprof" => o with { Pprof = Url(name, Next()) },
                "--profile" => o with { Profile = true },
                "--profile-hz" => o with { Profile = true, ProfileHz = Int(name, Next(), 1, 1000) },
                "--heap" => o with { Heap = true },
                "--assert-no-loss" => o with { AssertNoLoss = true },
                "--out" => o with { OutputDirectory = Next() },
                "--label" => o with { Label = Next() },
                "--app" => o with { App = Next() },
                "--stream" => o with { Stream = Next() },
                _ => throw new FormatException($"unknown option {name}"),
            };
        }

        if (o.OriginSchedule is not null && pacing is not null)
        {
            throw new FormatException($"--origin-schedule replays a capture as it is: leave out --pacing {pacing}");
        }

        if (o.Pacing == PacingMode.Replay && (o.Bitrate is not null || burstOnly.Count > 0))
        {
            throw new FormatException($"{string.Join(", ", (o.Bitrate is null ? burstOnly : ["--bitrate", .. burstOnly]).Distinct())}: " +
                "not with --origin-schedule; a replayed capture brings its own sizes and times");
        }

        if (o.Pacing == PacingMode.Srs && burstOnly.Count > 0)
        {
            throw new FormatException($"{string.Join(", ", burstOnly.Distinct())}: only with --pacing burst; " +
                "srs pacing sends the captured SRS origin's packets and feedback (--bitrate scales its video)");
        }

        if (o.OriginSchedule is not null && !File.Exists(o.OriginSchedule))
        {
            throw new FormatException($"--origin-schedule {o.OriginSchedule}: no such file");
        }

        if (o.Modes.Contains("proxy") && (o.ProxyApi is null || o.ProxySystem is null))
        {
            throw new FormatException("the proxy mode needs --proxy-api and --proxy-system (or --modes direct)");
        }

        if (o.Modes.Contains("floor") && (o.FloorRelay is null || !File.Exists(o.FloorRelay)))
        {
            throw new FormatException($"the floor mode needs --floor-relay with the built relay (scripts/bench builds it){(o.FloorRelay is null ? "" : $"; no such file: {o.FloorRelay}")}");
        }

        if (o.Pacing == PacingMode.Burst && o.PacketRate * o.Players > 2_000_000)
        {
            throw new FormatException($"{o.PacketRate * o.Players:F0} datagrams/s is more than this tool can pace");
        }

        if (o.Pacing == PacingMode.Srs && o.Bitrate is { } bitrate)
        {
            var fit = SrsOriginFit.Captured;
            if (bitrate < fit.MinBitsPerSecond || bitrate > SrsOriginFit.MaxBitsPerSecond)
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                    $"--bitrate {bitrate}: srs pacing scales its video to make {Math.Ceiling(fit.MinBitsPerSecond / 1e3):0}k..{SrsOriginFit.MaxBitsPerSecond / 1e6:0}M per player (its audio alone is {fit.AudioPerSecond * fit.AudioBytes.Mean() * 8 / 1e3:0.#}k)"));
            }

            var perSecond = fit.ScaledTo(bitrate).MediaPerSecondPerPlayer * o.Players;
            if (perSecond > 2_000_000)
            {
                throw new FormatException($"{perSecond:F0} datagrams/s is more than this tool can pace");
            }
        }

        return o;
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"{name} {value}: expected an integer in {min}..{max}");

    private static double Double(string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new FormatException($"{name} {value}: expected a number in {min}..{max}");

    /// <summary>A bitrate: a number with an optional k/M/G suffix (decimal, as bitrates are).</summary>
    internal static long Rate(string name, string value)
    {
        var text = value.Trim();
        var multiplier = 1.0;
        if (text.Length > 0 && char.ToLowerInvariant(text[^1]) is 'k' or 'm' or 'g')
        {
            multiplier = char.ToLowerInvariant(text[^1]) switch { 'k' => 1e3, 'm' => 1e6, _ => 1e9 };
            text = text[..^1];
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n * multiplier is >= 1_000 and <= 1e9
            ? (long)(n * multiplier)
            : throw new FormatException($"{name} {value}: expected a bitrate such as 200k or 1M (1k..1G)");
    }

    private static Uri Url(string name, string value) =>
        Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new FormatException($"{name} {value}: expected an http:// URL");

    private static PacingMode ParsePacing(string value) => value switch
    {
        "srs" => PacingMode.Srs,
        "burst" => PacingMode.Burst,
        _ => throw new FormatException($"--pacing {value}: expected srs or burst (--origin-schedule FILE replays a capture)"),
    };

    private static string[] ParseModes(string value)
    {
        var modes = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return modes.Length > 0 && modes.All(m => m is "proxy" or "floor" or "direct") && modes.Distinct().Count() == modes.Length
            ? modes
            : throw new FormatException($"--modes {value}: expected proxy, floor and direct, one or more, comma-separated");
    }
}
