namespace SrsProxy.Profiling.Perf;

/// <summary>Lookups in a sorted array of code start addresses, shared by the symbol tables.</summary>
internal static class SortedStarts
{
    /// <summary>The index of the last start at or below <paramref name="address"/>, or -1 when all are above it.</summary>
    public static int AtOrBefore(ulong[] starts, ulong address)
    {
        var index = Array.BinarySearch(starts, address);
        return index >= 0 ? index : ~index - 1;
    }
}
