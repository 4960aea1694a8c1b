using System.Diagnostics;
using SrsProxy.Bench.Pacing;
using SrsProxy.Bench.Report;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// What the origin simulator meant to send and what it did, over the steady window: the gap before each
/// datagram as planned by its schedule and as achieved (Stopwatch before each send), how late each send was
/// against its due time, and bursts split at gaps over 100 µs in both. Written by the sender thread alone,
/// read after the window; 1 µs buckets up to 100 ms, nothing allocated per datagram.
/// </summary>
internal sealed class PacingRecorder
{
    private const int MaxUs = 100_000;
    private const int MaxBurst = 1 << 16;

    private static readonly double TicksPerUs = Stopwatch.Frequency / 1e6;

    private readonly long[] _planned = new long[MaxUs + 1];
    private readonly long[] _achieved = new long[MaxUs + 1];
    private readonly long[] _late = new long[MaxUs + 1];
    private readonly long[] _plannedBursts = new long[MaxBurst + 1];
    private readonly long[] _achievedBursts = new long[MaxBurst + 1];
    private long _previous;
    private int _plannedBurst;
    private int _achievedBurst;
    private long _sends;
    private long _first;
    private long _last;
    private bool _hasPlan;
    private long _lateMaxUs;

    /// <summary>Times the sender was so late it shifted its schedule instead of sending the backlog at once.</summary>
    public long Rebased;

    /// <summary>Datagrams the schedule skipped in the window (a player too far behind), and its count when the window began.</summary>
    public long Skipped;

    public long SkippedBefore;

    public void Clear()
    {
        Array.Clear(_planned);
        Array.Clear(_achieved);
        Array.Clear(_late);
        Array.Clear(_plannedBursts);
        Array.Clear(_achievedBursts);
        _sends = 0;
        _plannedBurst = 0;
        _achievedBurst = 0;
        _lateMaxUs = 0;
        _hasPlan = false;
        Rebased = 0;
        Skipped = 0;
    }

    /// <summary>One datagram sent at <paramref name="sentTicks"/>; a plan (gap and due time) when there was one.</summary>
    public void Record(long sentTicks, double? plannedGapUs, long dueTicks)
    {
        if (_sends++ == 0)
        {
            _first = sentTicks;
            _previous = sentTicks;
            _plannedBurst = 1;
            _achievedBurst = 1;
        }
        else
        {
            var achieved = (sentTicks - _previous) / TicksPerUs;
            _achieved[Bucket(achieved)]++;
            _achievedBurst = Burst(_achievedBursts, _achievedBurst, achieved);
            if (plannedGapUs is { } planned)
            {
                _planned[Bucket(planned)]++;
                _plannedBurst = Burst(_plannedBursts, _plannedBurst, planned);
            }
        }

        if (plannedGapUs is not null)
        {
            _hasPlan = true;
            var late = (long)Math.Max(0, (sentTicks - dueTicks) / TicksPerUs);
            _late[Bucket(late)]++;
            _lateMaxUs = Math.Max(_lateMaxUs, late);
        }

        _previous = sentTicks;
        _last = sentTicks;
    }

    public PacingFigures Snapshot(string pacing, string description, CaptureStats? capture)
    {
        var seconds = (_last - _first) / (double)Stopwatch.Frequency;
        return new PacingFigures
        {
            Pacing = pacing,
            Description = description,
            Sends = _sends,
            SendsPerSecond = seconds > 0 ? (_sends - 1) / seconds : 0,
            Capture = capture is null ? null : new GapFigures(capture.GapP10Us, capture.GapP50Us, capture.GapP90Us, capture.GapP99Us, capture.BurstP10, capture.BurstP50, capture.BurstP90),
            Planned = _hasPlan ? Figures(_planned, _plannedBursts) : null,
            Achieved = Figures(_achieved, _achievedBursts),
            LateP50Us = _hasPlan ? Percentile(_late, 0.5) : null,
            LateP99Us = _hasPlan ? Percentile(_late, 0.99) : null,
            LateMaxUs = _hasPlan ? _lateMaxUs : null,
            Rebased = Rebased,
            Skipped = Skipped,
        };
    }

    private static GapFigures Figures(long[] gaps, long[] bursts) => new(
        Percentile(gaps, 0.10), Percentile(gaps, 0.50), Percentile(gaps, 0.90), Percentile(gaps, 0.99),
        Percentile(bursts, 0.10), Percentile(bursts, 0.50), Percentile(bursts, 0.90));

    private static int Burst(long[] bursts, int current, double gapUs)
    {
        if (gapUs <= CaptureStats.BurstSplitUs)
        {
            return current + 1;
        }

        bursts[Math.Min(current, MaxBurst)]++;
        return 1;
    }

    private static int Bucket(double us) => (int)Math.Clamp(us, 0, MaxUs);

    /// <summary>Nearest rank, as the capture's figures are computed; the last bucket holds everything from 100 ms.</summary>
    private static double Percentile(long[] counts, double q)
    {
        var total = counts.Sum();
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return i;
            }
        }

        return counts.Length - 1;
    }
}
