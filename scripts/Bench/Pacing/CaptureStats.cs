namespace SrsProxy.Bench.Pacing;

/// <summary>
/// The shape of an origin's send schedule, as the data README describes a capture: gaps between consecutive
/// origin-to-player sends, bursts (runs of sends split at gaps over <see cref="BurstSplitUs"/>), sizes and rates.
/// </summary>
internal sealed record CaptureStats(
    int Players, double Seconds, long Down, long Up,
    double GapP10Us, double GapP50Us, double GapP90Us, double GapP99Us,
    double BurstP10, double BurstP50, double BurstP90,
    double DownPerSecondPerPlayer, double DownBytesP50, double DownKbitPerPlayer,
    double UpPerSecondPerPlayer, double UpBytesP50)
{
    /// <summary>A gap longer than this ends a burst (the data README's split).</summary>
    public const double BurstSplitUs = 100;

    /// <summary>The statistics of the origin-to-player sends at <paramref name="timesUs"/> (in time order).</summary>
    public static (double P10, double P50, double P90, double P99, double BurstP10, double BurstP50, double BurstP90) Shape(IReadOnlyList<double> timesUs)
    {
        var gaps = new List<double>(Math.Max(0, timesUs.Count - 1));
        var bursts = new List<double>();
        var burst = 1;
        for (var i = 1; i < timesUs.Count; i++)
        {
            var gap = timesUs[i] - timesUs[i - 1];
            gaps.Add(gap);
            if (gap > BurstSplitUs)
            {
                bursts.Add(burst);
                burst = 1;
            }
            else
            {
                burst++;
            }
        }

        bursts.Add(burst);
        gaps.Sort();
        bursts.Sort();
        return gaps.Count == 0
            ? (double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN)
            : (Quantiles.At(gaps, 0.10), Quantiles.At(gaps, 0.50), Quantiles.At(gaps, 0.90), Quantiles.At(gaps, 0.99),
                Quantiles.At(bursts, 0.10), Quantiles.At(bursts, 0.50), Quantiles.At(bursts, 0.90));
    }

    public static CaptureStats Of(ScheduleCapture capture)
    {
        var down = new List<double>(capture.DownCount);
        var downBytes = new List<double>(capture.DownCount);
        var upBytes = new List<double>();
        for (var i = 0; i < capture.Count; i++)
        {
            if (capture.Down[i])
            {
                down.Add(capture.TimesUs[i]);
                downBytes.Add(capture.Lengths[i]);
            }
            else
            {
                upBytes.Add(capture.Lengths[i]);
            }
        }

        var shape = Shape(down);
        var seconds = capture.DurationUs / 1e6;
        var totalDownBytes = downBytes.Sum();
        downBytes.Sort();
        upBytes.Sort();
        var perPlayerSecond = Math.Max(1, capture.Players) * Math.Max(1e-9, seconds);
        return new CaptureStats(
            capture.Players, seconds, down.Count, upBytes.Count,
            shape.P10, shape.P50, shape.P90, shape.P99, shape.BurstP10, shape.BurstP50, shape.BurstP90,
            down.Count / perPlayerSecond, Quantiles.At(downBytes, 0.5), totalDownBytes * 8 / 1e3 / perPlayerSecond,
            upBytes.Count / perPlayerSecond, upBytes.Count == 0 ? double.NaN : Quantiles.At(upBytes, 0.5));
    }
}
