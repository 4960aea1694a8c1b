using System.Globalization;

namespace SrsProxy.Bench.Pacing;

/// <summary>
/// An empirical distribution kept as its quantiles at fixed probabilities (<see cref="Probabilities"/>): fitted
/// from a capture with <see cref="Of"/>, sampled by inverse transform with linear interpolation between two
/// neighbouring quantiles. 27 points keep the body and the tail (p99, p99.9) of a gap or size distribution.
/// </summary>
internal sealed class Quantiles
{
    /// <summary>The probabilities the values are taken at: dense in the tails, where pacing differs most.</summary>
    public static readonly double[] Probabilities =
        [0, 0.01, 0.02, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80,
         0.85, 0.90, 0.95, 0.98, 0.99, 0.995, 0.999, 1];

    public Quantiles(params double[] values)
    {
        if (values.Length != Probabilities.Length)
        {
            throw new ArgumentException($"expected {Probabilities.Length} quantiles, got {values.Length}", nameof(values));
        }

        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] < values[i - 1])
            {
                throw new ArgumentException("quantiles must not decrease", nameof(values));
            }
        }

        Values = values;
    }

    /// <summary>The value at each of <see cref="Probabilities"/>.</summary>
    public IReadOnlyList<double> Values { get; }

    /// <summary>The nearest-rank quantiles of <paramref name="samples"/> (which it sorts).</summary>
    public static Quantiles Of(List<double> samples)
    {
        if (samples.Count == 0)
        {
            throw new ArgumentException("no samples", nameof(samples));
        }

        samples.Sort();
        return new Quantiles([.. Probabilities.Select(p => At(samples, p))]);
    }

    /// <summary>The nearest-rank quantile <paramref name="p"/> of sorted samples.</summary>
    public static double At(IReadOnlyList<double> sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>A value drawn from the distribution: the quantile function at a uniform random probability.</summary>
    public double Sample(Random random) => ValueAt(random.NextDouble());

    /// <summary>The quantile function, interpolated linearly between the stored points.</summary>
    public double ValueAt(double p)
    {
        var ps = Probabilities;
        var i = Array.BinarySearch(ps, p);
        if (i >= 0)
        {
            return Values[i];
        }

        i = ~i;
        if (i == 0)
        {
            return Values[0];
        }

        if (i >= ps.Length)
        {
            return Values[^1];
        }

        var fraction = (p - ps[i - 1]) / (ps[i] - ps[i - 1]);
        return Values[i - 1] + (fraction * (Values[i] - Values[i - 1]));
    }

    /// <summary>The mean of the interpolated distribution (trapezoids between the points).</summary>
    public double Mean()
    {
        var sum = 0.0;
        for (var i = 1; i < Probabilities.Length; i++)
        {
            sum += (Probabilities[i] - Probabilities[i - 1]) * (Values[i] + Values[i - 1]) / 2;
        }

        return sum;
    }

    /// <summary>The same distribution with every value multiplied by <paramref name="factor"/> (a positive number).</summary>
    public Quantiles Scaled(double factor) => new([.. Values.Select(v => v * factor)]);

    /// <summary>As a C# argument list, for pasting a new fit into <see cref="SrsOriginFit.Captured"/>.</summary>
    public string ToCode() => string.Join(", ", Values.Select(v => v.ToString("0.##", CultureInfo.InvariantCulture)));
}
