using System.Runtime.CompilerServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Lookups in a sorted array of code start addresses, shared by the symbol tables. A loop of their own, not
/// <see cref="Array.BinarySearch{T}(T[], T)"/>: the rundown's reader asks once per method the runtime describes
/// (15,000 times on a first profile), and the framework's generic search would run as unoptimised first-tier code
/// all along, where this one is inlined into callers compiled optimised.
/// </summary>
internal static class SortedStarts
{
    /// <summary>The index of the last start at or below <paramref name="address"/>, or -1 when all are above it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int AtOrBefore(ulong[] starts, ulong address) =>
        address == ulong.MaxValue ? starts.Length - 1 : FirstAtOrAbove(starts, address + 1) - 1;

    /// <summary>The index of the first value at or above <paramref name="value"/>; the length when none is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FirstAtOrAbove(ulong[] sorted, ulong value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            if (sorted[middle] < value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}
