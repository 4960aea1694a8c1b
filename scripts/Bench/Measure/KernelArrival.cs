using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// When the kernel put the datagram a UDP socket returned last into that socket's queue (<c>SIOCGSTAMPNS</c>),
/// on the <see cref="Stopwatch"/>'s clock. A player's one-way latency ends there, not when the player's thread
/// got to run: on this machine the players share two cores with the proxy and the origin, and how long a
/// player's thread waits for a core is the load generator's delay, which a remote player's host does not add
/// to the relay's. Linux only; elsewhere, or when the kernel has no stamp, the caller keeps its own time.
/// </summary>
internal static partial class KernelArrival
{
    private const nuint SiocGStampNs = 0x8907;
    private const int ClockRealtime = 0;
    private const int ClockMonotonic = 1;

    /// <summary>CLOCK_REALTIME minus CLOCK_MONOTONIC (the Stopwatch's clock on Linux), in nanoseconds.</summary>
    private static readonly long RealtimeAhead = Offset();

    private static long _stamped;
    private static long _unstamped;

    /// <summary>Whether the kernel stamps can be used here: Linux, where the Stopwatch counts CLOCK_MONOTONIC nanoseconds.</summary>
    public static bool Supported { get; } = OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000;

    /// <summary>Receives whose latency ended at the kernel's stamp, and those that fell back to the player's clock.</summary>
    public static (long Stamped, long Unstamped) Counts => (Interlocked.Read(ref _stamped), Interlocked.Read(ref _unstamped));

    /// <summary>
    /// The arrival of the last datagram <paramref name="socket"/> returned, as a Stopwatch timestamp, or
    /// <paramref name="fallback"/> when there is no stamp. The first call on a socket turns stamping on, so a
    /// socket's first datagram may have none.
    /// </summary>
    public static long LastOr(Socket socket, long fallback)
    {
        if (Supported && Ioctl(socket.SafeHandle, SiocGStampNs, out var stamp) == 0)
        {
            Interlocked.Increment(ref _stamped);
            return stamp.TotalNanoseconds - RealtimeAhead;
        }

        Interlocked.Increment(ref _unstamped);
        return fallback;
    }

    /// <summary>The offset read between two monotonic readings, the closest pair of five.</summary>
    private static long Offset()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        long best = 0, narrowest = long.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            ClockGettime(ClockMonotonic, out var before);
            ClockGettime(ClockRealtime, out var real);
            ClockGettime(ClockMonotonic, out var after);
            var width = after.TotalNanoseconds - before.TotalNanoseconds;
            if (width < narrowest)
            {
                narrowest = width;
                best = real.TotalNanoseconds - (before.TotalNanoseconds + width / 2);
            }
        }

        return best;
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(SafeHandle fd, nuint request, out Timespec stamp);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGettime(int clock, out Timespec time);
}
