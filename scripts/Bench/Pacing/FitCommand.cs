using System.Globalization;
using System.Text;

namespace SrsProxy.Bench.Pacing;

/// <summary>
/// <c>srs-proxy-bench fit-schedule FILE [--players N] [--seconds S] [--bitrate R] [--code]</c>: fits <see cref="SrsOriginModel"/>
/// to a capture and prints the fit, then the capture's figures next to what the model plans for N players (300
/// by default) over S seconds (the capture's length, at least 10) when sent perfectly; with <c>--bitrate</c>, its video scaled as the benchmark's <c>--bitrate</c>
/// scales it (<see cref="SrsOriginFit.ScaledTo"/>). With <c>--code</c> it prints the fit as SrsOriginFit.Captured.cs instead, which
/// is how the built-in fit was made.
/// </summary>
internal static class FitCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count == 0)
        {
            output.WriteLine("usage: srs-proxy-bench fit-schedule FILE [--players N] [--seconds S] [--bitrate R] [--code]");
            return 2;
        }

        var players = 300;
        var code = false;
        long? bitrate = null;
        double? seconds = null;
        for (var i = 1; i < args.Count; i++)
        {
            if (args[i] == "--code")
            {
                code = true;
            }
            else if (args[i] == "--players" && i + 1 < args.Count && int.TryParse(args[++i], CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                players = n;
            }
            else if (args[i] == "--seconds" && i + 1 < args.Count && double.TryParse(args[++i], CultureInfo.InvariantCulture, out var s) && s is >= 1 and <= 3600)
            {
                seconds = s;
            }
            else if (args[i] == "--bitrate" && i + 1 < args.Count)
            {
                bitrate = BenchOptions.Rate("--bitrate", args[++i]);
            }
            else
            {
                output.WriteLine($"fit-schedule: unknown option {args[i]}");
                return 2;
            }
        }

        var capture = ScheduleCapture.Load(args[0]);
        var fit = SrsOriginFit.Fit(capture);
        if (code)
        {
            if (bitrate is not null)
            {
                output.WriteLine("fit-schedule: --code prints the fit as captured; leave out --bitrate");
                return 2;
            }

            output.Write(ToCode(fit, Path.GetFileName(args[0])));
            return 0;
        }

        if (bitrate is { } r)
        {
            if (r < fit.MinBitsPerSecond || r > SrsOriginFit.MaxBitsPerSecond)
            {
                output.WriteLine(Invariant($"fit-schedule: --bitrate {r}: this fit scales to {Math.Ceiling(fit.MinBitsPerSecond / 1e3):0}k..{SrsOriginFit.MaxBitsPerSecond / 1e6:0}M"));
                return 2;
            }

            fit = fit.ScaledTo(r);
            output.WriteLine(Invariant($"video frames scaled x{fit.VideoScale:0.000} for --bitrate {r / 1e3:0.#}k"));
        }

        output.WriteLine(Describe(fit));
        output.WriteLine(Invariant($"{"",-34} {"capture",28} {"fit, perfect sender",28}"));
        var planned = Simulate(fit, players, seconds ?? Math.Max(10, capture.DurationUs / 1e6));
        var c = fit.Capture;
        output.WriteLine(Invariant($"{"players",-34} {c.Players,28} {players,28}"));
        output.WriteLine(Invariant($"{"gaps p10/p50/p90/p99 (µs)",-34} {$"{c.GapP10Us:0}/{c.GapP50Us:0}/{c.GapP90Us:0}/{c.GapP99Us:0}",28} {$"{planned.P10:0}/{planned.P50:0}/{planned.P90:0}/{planned.P99:0}",28}"));
        output.WriteLine(Invariant($"{"bursts p10/p50/p90 (sends)",-34} {$"{c.BurstP10:0}/{c.BurstP50:0}/{c.BurstP90:0}",28} {$"{planned.BurstP10:0}/{planned.BurstP50:0}/{planned.BurstP90:0}",28}"));
        output.WriteLine(Invariant($"{"media datagrams/s per player",-34} {c.DownPerSecondPerPlayer,28:0.0} {planned.PerPlayerSecond,28:0.0}"));
        output.WriteLine(Invariant($"{"media kbit/s per player",-34} {c.DownKbitPerPlayer,28:0.0} {planned.KbitPerPlayer,28:0.0}"));
        output.WriteLine(Invariant($"{"feedback datagrams/s per player",-34} {c.UpPerSecondPerPlayer,28:0.00} {fit.FeedbackPerSecondPerPlayer,28:0.00}"));
        return 0;
    }

    /// <summary>What the model plans for <paramref name="players"/> over <paramref name="seconds"/>, sent exactly on time.</summary>
    public static (double P10, double P50, double P90, double P99, double BurstP10, double BurstP50, double BurstP90, double PerPlayerSecond, double KbitPerPlayer)
        Simulate(SrsOriginFit fit, int players, double seconds)
    {
        var model = new SrsOriginModel(fit, new Random(1));
        var times = new List<double>();
        double now = 0, bytes = 0;
        while (now < seconds * 1e6)
        {
            var send = model.Next(now, players);
            now = send.DueUs;
            if (send.Slot >= 0)
            {
                times.Add(now);
                bytes += send.Length;
            }
        }

        var shape = CaptureStats.Shape(times);
        return (shape.P10, shape.P50, shape.P90, shape.P99, shape.BurstP10, shape.BurstP50, shape.BurstP90,
            times.Count / seconds / players, bytes * 8 / 1e3 / seconds / players);
    }

    public static string Describe(SrsOriginFit fit)
    {
        var text = new StringBuilder();
        void Line(string name, string value) => text.Append(Invariant($"{name,-34} {value}\n"));
        string Q(Quantiles q) => Invariant($"p1 {q.ValueAt(0.01):0} / p10 {q.ValueAt(0.1):0} / p50 {q.ValueAt(0.5):0} / p90 {q.ValueAt(0.9):0} / p99 {q.ValueAt(0.99):0} / max {q.ValueAt(1):0}");
        Line("audio packets/s", Invariant($"{fit.AudioPerSecond:0.00}"));
        Line("audio bytes", Q(fit.AudioBytes));
        Line("video frames/s, GOP (frames)", Invariant($"{fit.FramesPerSecond:0.00}, {fit.GopFrames}"));
        Line("frame bytes (not key)", Q(fit.FrameBytes));
        Line("keyframe bytes", Q(fit.KeyframeBytes));
        Line("largest packet, parameter sets", Invariant($"{fit.MaxPacketBytes} B, {fit.ParameterSetBytes} B"));
        Line("clump interval (µs)", Q(fit.ClumpIntervalUs));
        Line("gap, same player (µs)", Q(fit.SamePlayerGapUs));
        Line("gap, next player (µs)", Q(fit.NextPlayerGapUs));
        Line("pause of a busy origin (µs)", Q(fit.PauseUs));
        Line("burst between pauses (sends)", Q(fit.BurstSends));
        Line("feedback", Invariant($"{fit.FeedbackGroupSize} x {fit.FeedbackBytes} B every {fit.FeedbackPeriodSeconds:0.000} s, other {fit.OtherFeedbackPerSecond:0.000}/s x {fit.OtherFeedbackBytes} B"));
        Line("media datagrams/s per player", Invariant($"{fit.MediaPerSecondPerPlayer:0.00}"));
        Line("media kbit/s per player", Invariant($"{fit.MediaBitsPerSecondPerPlayer / 1e3:0.0}"));
        return text.ToString();
    }

    private static string ToCode(SrsOriginFit fit, string source)
    {
        var c = fit.Capture;
        string Q(Quantiles q) => $"new Quantiles({q.ToCode()})";
        return Invariant($$"""
            namespace SrsProxy.Bench.Pacing;

            // Made by `srs-proxy-bench fit-schedule {{source}} --code` (Pacing/FitCommand.cs); do not edit by hand.
            internal sealed partial record SrsOriginFit
            {
                /// <summary>The fit to {{source}}.</summary>
                public static SrsOriginFit Captured { get; } = new()
                {
                    AudioPerSecond = {{fit.AudioPerSecond:0.###}},
                    AudioBytes = {{Q(fit.AudioBytes)}},
                    FramesPerSecond = {{fit.FramesPerSecond:0.###}},
                    GopFrames = {{fit.GopFrames}},
                    FrameBytes = {{Q(fit.FrameBytes)}},
                    KeyframeBytes = {{Q(fit.KeyframeBytes)}},
                    MaxPacketBytes = {{fit.MaxPacketBytes}},
                    ParameterSetBytes = {{fit.ParameterSetBytes}},
                    ClumpIntervalUs = {{Q(fit.ClumpIntervalUs)}},
                    SamePlayerGapUs = {{Q(fit.SamePlayerGapUs)}},
                    NextPlayerGapUs = {{Q(fit.NextPlayerGapUs)}},
                    PauseUs = {{Q(fit.PauseUs)}},
                    BurstSends = {{Q(fit.BurstSends)}},
                    FeedbackPeriodSeconds = {{fit.FeedbackPeriodSeconds:0.######}},
                    FeedbackGroupSize = {{fit.FeedbackGroupSize}},
                    FeedbackBytes = {{fit.FeedbackBytes}},
                    OtherFeedbackPerSecond = {{fit.OtherFeedbackPerSecond:0.####}},
                    OtherFeedbackBytes = {{fit.OtherFeedbackBytes}},
                    Capture = new CaptureStats(
                        {{c.Players}}, {{c.Seconds:0.###}}, {{c.Down}}, {{c.Up}},
                        {{c.GapP10Us}}, {{c.GapP50Us}}, {{c.GapP90Us}}, {{c.GapP99Us}},
                        {{c.BurstP10}}, {{c.BurstP50}}, {{c.BurstP90}},
                        {{c.DownPerSecondPerPlayer:0.###}}, {{c.DownBytesP50}}, {{c.DownKbitPerPlayer:0.#}},
                        {{c.UpPerSecondPerPlayer:0.###}}, {{c.UpBytesP50}}),
                };
            }

            """);
    }

    private static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
