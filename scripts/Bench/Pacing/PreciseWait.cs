using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SrsProxy.Bench.Pacing;

/// <summary>
/// Waits until a Stopwatch timestamp with microsecond precision. Thread.Sleep counts whole milliseconds, so a
/// wait sleeps (nanosleep, with the thread's timer slack lowered from Linux's default 50 µs to 1 µs) until
/// <see cref="SpinMarginUs"/> before the due time, then spins on the Stopwatch. Waits shorter than
/// <see cref="SleepAboveUs"/> only spin: the gaps inside an origin's burst (10-30 µs) are shorter than a
/// sleep's wake-up. The spinning stands in for a real origin's work between two sends (it encrypts each
/// datagram), and it is the load generator's CPU, not the proxy's.
/// </summary>
internal static partial class PreciseWait
{
    /// <summary>A wait longer than this sleeps first.</summary>
    public const double SleepAboveUs = 200;

    /// <summary>A sleep ends this long before the due time: a wake-up on a loaded machine can be that late.</summary>
    public const double SpinMarginUs = 80;

    private const int PrSetTimerSlack = 29;

    private const long TimerSlackNs = 1_000;

    private static readonly double TicksPerUs = Stopwatch.Frequency / 1e6;

    /// <summary>Lowers the calling thread's timer slack, so its short sleeps end on time (Linux; elsewhere nothing).</summary>
    public static void LowerTimerSlack()
    {
        if (OperatingSystem.IsLinux())
        {
            _ = Prctl(PrSetTimerSlack, TimerSlackNs, 0, 0, 0);
        }
    }

    /// <summary>Returns at <paramref name="dueTicks"/> (Stopwatch), or at once when that has passed.</summary>
    public static void Until(long dueTicks)
    {
        var remainingUs = (dueTicks - Stopwatch.GetTimestamp()) / TicksPerUs;
        if (remainingUs > SleepAboveUs)
        {
            Sleep(remainingUs - SpinMarginUs);
        }

        while (Stopwatch.GetTimestamp() < dueTicks)
        {
            Thread.SpinWait(8);
        }
    }

    private static void Sleep(double microseconds)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            Thread.Sleep(TimeSpan.FromMicroseconds(microseconds));
            return;
        }

        var ns = (long)(microseconds * 1000);
        var request = Timespec.FromNanoseconds(ns);

        // Interrupted by a signal (EINTR): the spin that follows covers the rest, or the caller waits again.
        _ = Nanosleep(in request, 0);
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int Nanosleep(in Timespec request, nint remaining);

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, long arg2, long arg3, long arg4, long arg5);
}
