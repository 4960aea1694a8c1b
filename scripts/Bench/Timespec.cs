using System.Runtime.InteropServices;

namespace SrsProxy.Bench;

/// <summary>The C library's <c>struct timespec</c> (64-bit Linux): what <c>nanosleep</c>, <c>clock_gettime</c> and <c>SIOCGSTAMPNS</c> use.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;

    public readonly long TotalNanoseconds => (Seconds * 1_000_000_000) + Nanoseconds;

    public static Timespec FromNanoseconds(long nanoseconds) =>
        new() { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
}
