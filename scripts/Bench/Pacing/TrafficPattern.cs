using System.Globalization;

namespace SrsProxy.Bench.Pacing;

/// <summary>
/// The traffic of one run, as <c>--pacing</c> and <c>--origin-schedule</c> chose it: which schedule the origin
/// simulator sends by (none for burst pacing, which keeps its own tick loop), which the players' feedback
/// follows, what rates that makes, and how the report describes it.
/// </summary>
internal sealed class TrafficPattern
{
    private TrafficPattern(BenchOptions options, SrsOriginFit? fit, ScheduleCapture? capture)
    {
        Options = options;
        Fit = fit;
        Capture = capture;
        Reference = fit?.Capture ?? (capture is null ? null : CaptureStats.Of(capture));
    }

    public BenchOptions Options { get; }

    public PacingMode Mode => Options.Pacing;

    /// <summary>The fitted model, for srs pacing.</summary>
    public SrsOriginFit? Fit { get; }

    /// <summary>The capture replayed, for <c>--origin-schedule</c>.</summary>
    public ScheduleCapture? Capture { get; }

    /// <summary>The capture's own figures (gaps, bursts), for the report; null for burst pacing.</summary>
    public CaptureStats? Reference { get; }

    public static TrafficPattern Create(BenchOptions options) => options.Pacing switch
    {
        PacingMode.Srs => new TrafficPattern(options, options.Bitrate is { } bitrate ? SrsOriginFit.Captured.ScaledTo(bitrate) : SrsOriginFit.Captured, null),
        PacingMode.Replay => new TrafficPattern(options, null, ScheduleCapture.Load(options.OriginSchedule!)),
        _ => new TrafficPattern(options, null, null),
    };

    /// <summary>The largest datagram the origin sends.</summary>
    public int MaxDatagram => Mode switch
    {
        PacingMode.Srs => Fit!.MaxPacketBytes,
        PacingMode.Replay => Math.Max(MediaPacket.MinSize, Capture!.Lengths.Max()),
        _ => Options.PacketSize,
    };

    /// <summary>Media datagrams per second per player the origin is to send, with <paramref name="players"/> players.</summary>
    public double MediaPerSecondPerPlayer(int players) => Mode switch
    {
        PacingMode.Srs => Fit!.MediaPerSecondPerPlayer,
        PacingMode.Replay => new CaptureReplay(Capture!, down: true, players).PerSecond / players,
        _ => Options.PacketRate,
    };

    /// <summary>Media bits per second per player (UDP payload) the origin is to send, with <paramref name="players"/> players.</summary>
    public double MediaBitsPerSecondPerPlayer(int players) => Mode switch
    {
        PacingMode.Srs => Fit!.MediaBitsPerSecondPerPlayer,
        PacingMode.Replay => new CaptureReplay(Capture!, down: true, players).BytesPerSecond * 8 / players,
        _ => Options.BurstBitrate,
    };

    public double FeedbackPerSecondPerPlayer(int players) => Mode switch
    {
        PacingMode.Srs => Fit!.FeedbackPerSecondPerPlayer,
        PacingMode.Replay => new CaptureReplay(Capture!, down: false, players).PerSecond / players,
        _ => Options.FeedbackRate,
    };

    /// <summary>The origin's schedule; null for burst pacing.</summary>
    public IOriginSchedule? OriginSchedule() => Mode switch
    {
        PacingMode.Srs => new SrsOriginModel(Fit!, new Random()),
        PacingMode.Replay => new CaptureReplay(Capture!, down: true, Options.Players),
        _ => null,
    };

    /// <summary>The players' feedback over the given player indices; null for burst pacing.</summary>
    public IFeedbackSchedule? FeedbackSchedule(IReadOnlyList<int> players) => Mode switch
    {
        PacingMode.Srs => new SrsFeedbackModel(Fit!, players, new Random()),
        PacingMode.Replay => new CaptureReplay(Capture!, down: false, Options.Players),
        _ => null,
    };

    /// <summary>One line for the report's header.</summary>
    public string Describe() => Mode switch
    {
        PacingMode.Srs => Invariant($"srs pacing (fitted to a real SRS 7 origin with {Fit!.Capture.Players} players): media {Fit.MediaBitsPerSecondPerPlayer / 1e3:0.#} kbit/s, {Fit.MediaPerSecondPerPlayer:0.#} datagrams/s per player ") +
            Invariant($"(Opus {Fit.AudioPerSecond:0.#}/s + H.264 {Fit.FramesPerSecond:0.#} fps, keyframe every {Fit.GopFrames} frames") +
            (Options.Bitrate is null
                ? "), "
                : Invariant($"; --bitrate {Options.Bitrate / 1e3:0.#}k: the captured audio, video frames x{Fit.VideoScale:0.00} the captured sizes, frame p50 {Fit.FrameBytes.ValueAt(0.5):N0} B, keyframe p50 {Fit.KeyframeBytes.ValueAt(0.5):N0} B, in packets of at most {Fit.MaxPacketBytes:N0} B), ")) +
            Invariant($"each media packet sent to one player after another; feedback {Fit.FeedbackPerSecondPerPlayer:0.##}/s per player ") +
            Invariant($"({Fit.FeedbackGroupSize} x {Fit.FeedbackBytes} B every {Fit.FeedbackPeriodSeconds:0.##} s, {Fit.OtherFeedbackPerSecond:0.##}/s x {Math.Max(MediaPacket.MinSize, Fit.OtherFeedbackBytes)} B)"),
        PacingMode.Replay => Invariant($"replay of {Path.GetFileName(Capture!.Path)} ({Capture.Players} players, {Capture.DurationUs / 1e6:0.0} s, looped): ") +
            Invariant($"{new CaptureReplay(Capture, down: true, Options.Players).Mapping}; origin {MediaPerSecondPerPlayer(Options.Players) * Options.Players:N0} datagrams/s ({MediaBitsPerSecondPerPlayer(Options.Players) / 1e3:0.#} kbit/s per player), ") +
            Invariant($"feedback {FeedbackPerSecondPerPlayer(Options.Players) * Options.Players:N0}/s in all"),
        _ => Invariant($"burst pacing: every {Options.TickMs:0.#} ms tick, each player's datagrams back to back; {Options.PacketRate:0.#} datagrams/s of {Options.PacketSize} B per player; ") +
            Invariant($"feedback {Options.FeedbackRate:0.#}/s x {Options.FeedbackSize} B per player"),
    };

    private static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
