using System.Globalization;

namespace SrsProxy.Configuration;

/// <summary>
/// Durations in Go's <c>time.ParseDuration</c> syntax (<c>30s</c>, <c>1m30s</c>, <c>500ms</c>), which the
/// reference's timeouts use. A bare number is taken as seconds, a convenience the reference lacks.
/// </summary>
internal static class GoDuration
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim().AsSpan();
        if (double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var bareSeconds))
        {
            if (!Fits(bareSeconds, TimeSpan.TicksPerSecond))
            {
                return false;
            }

            value = TimeSpan.FromSeconds(bareSeconds);
            return true;
        }

        double totalMs = 0;
        while (!s.IsEmpty)
        {
            var numberLength = 0;
            while (numberLength < s.Length && (char.IsAsciiDigit(s[numberLength]) || s[numberLength] == '.'))
            {
                numberLength++;
            }

            if (numberLength == 0 ||
                !double.TryParse(s[..numberLength], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            s = s[numberLength..];
            var unitLength = 0;
            while (unitLength < s.Length && !char.IsAsciiDigit(s[unitLength]) && s[unitLength] != '.')
            {
                unitLength++;
            }

            double unitMs = s[..unitLength] switch
            {
                "ns" => 1e-6,
                "us" or "µs" => 1e-3,
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => double.NaN,
            };
            if (double.IsNaN(unitMs))
            {
                return false;
            }

            totalMs += number * unitMs;
            s = s[unitLength..];
        }

        if (!Fits(totalMs, TimeSpan.TicksPerMillisecond))
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(totalMs);
        return true;
    }

    /// <summary>
    /// True when <paramref name="amount"/> units of <paramref name="ticksPerUnit"/> fit in a TimeSpan (past that,
    /// FromSeconds and FromMilliseconds throw): a number too large to be a duration makes a malformed one.
    /// Compared in ticks as a double, so the largest amount accepted still rounds into range.
    /// </summary>
    private static bool Fits(double amount, long ticksPerUnit) => amount * ticksPerUnit < long.MaxValue;

    /// <summary>Formats the way Go prints a duration for the common cases: 30s, 1m30s, 250ms, 500µs, 0s.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        if (value.TotalMilliseconds < 1)
        {
            return $"{value.TotalMicroseconds.ToString(CultureInfo.InvariantCulture)}µs";
        }

        if (value.TotalSeconds < 1)
        {
            return $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
        }

        var parts = new System.Text.StringBuilder();
        if (value.TotalHours >= 1)
        {
            parts.Append((int)value.TotalHours).Append('h');
        }

        if (value.Minutes > 0)
        {
            parts.Append(value.Minutes).Append('m');
        }

        var seconds = value.Seconds + value.Milliseconds / 1000.0;
        if (seconds > 0 || parts.Length == 0)
        {
            parts.Append(seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
        }

        return parts.ToString();
    }
}
