using System.Globalization;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// Durations in Go's syntax (<see cref="GoDuration.TryParse"/>) as the timeouts are configured. A parsed
/// duration is not negative, and <see cref="GoDuration.Format"/> prints it as text that parses back to it
/// (to the millisecond, which is what Format keeps).
/// </summary>
internal sealed class GoDurationTarget : IFuzzTarget
{
    public string Name => "go-duration";

    public string Description => "GoDuration.TryParse + Format: never negative, Format/TryParse round trip";

    public void Run(byte[] input)
    {
        var text = Inputs.Text(input);
        if (!GoDuration.TryParse(text, out var value))
        {
            return;
        }

        Check.That(value >= TimeSpan.Zero, "a duration is not negative");
        var printed = GoDuration.Format(value);
        Check.That(GoDuration.TryParse(printed, out var reparsed), $"'{printed}' (Format of {value}) parses");
        var difference = Math.Abs((reparsed - value).TotalMilliseconds);
        // Format keeps milliseconds; TryParse adds its parts as doubles, which at thousands of years are coarser.
        Check.That(difference < 1 + value.TotalMilliseconds * 1e-14, string.Create(CultureInfo.InvariantCulture, $"'{text}' is {value}, printed '{printed}', read back as {reparsed}"));
    }
}
