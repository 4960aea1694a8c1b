using System.Diagnostics;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// One-way latencies in microseconds: 1 µs buckets up to 10 ms, 100 µs buckets up to 1 s, then one overflow
/// bucket. Many receive threads record at once with interlocked increments; nothing is allocated per sample.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int FineLimitUs = 10_000;
    private const int CoarseStepUs = 100;
    private const int CoarseLimitUs = 1_000_000;
    private const int CoarseBuckets = (CoarseLimitUs - FineLimitUs) / CoarseStepUs;

    private readonly long[] _counts = new long[FineLimitUs + CoarseBuckets + 1];
    private long _maxUs;
    private long _count;

    public long Count => Volatile.Read(ref _count);

    public long MaxMicroseconds => Volatile.Read(ref _maxUs);

    public void Record(long stopwatchTicks)
    {
        var us = Math.Max(0, stopwatchTicks * 1_000_000 / Stopwatch.Frequency);
        int bucket;
        if (us < FineLimitUs)
        {
            bucket = (int)us;
        }
        else if (us < CoarseLimitUs)
        {
            bucket = FineLimitUs + (int)((us - FineLimitUs) / CoarseStepUs);
        }
        else
        {
            bucket = _counts.Length - 1;
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Increment(ref _count);
        var max = Volatile.Read(ref _maxUs);
        while (us > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxUs, us, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>The latency at quantile <paramref name="q"/> (0..1) in microseconds: the bucket's upper edge.</summary>
    public double Percentile(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= Math.Max(1, rank))
            {
                return i < FineLimitUs ? i + 1 : i == _counts.Length - 1 ? MaxMicroseconds : FineLimitUs + ((i - FineLimitUs + 1) * CoarseStepUs);
            }
        }

        return MaxMicroseconds;
    }
}
