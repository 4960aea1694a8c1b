using System.Globalization;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// The kernel's function names from <c>/proc/kallsyms</c>, read once per profile and only when its samples
/// have kernel frames. When the kernel hides its addresses (kptr_restrict, all zeros), every kernel frame is
/// named <c>[kernel]</c>.
/// </summary>
internal sealed class KernelSymbols
{
    public const string Module = "[kernel]";

    private readonly ulong[] _starts;
    private readonly string[] _names;

    private KernelSymbols(ulong[] starts, string[] names)
    {
        _starts = starts;
        _names = names;
    }

    public int Count => _names.Length;

    public static KernelSymbols Read(string path = "/proc/kallsyms")
    {
        var symbols = new List<(ulong Address, string Name)>();
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t name\t[module]"
                var first = line.IndexOf(' ');
                if (first <= 0 || first + 3 >= line.Length || (line[first + 1] | 0x20) != 't' || line[first + 2] != ' ')
                {
                    continue;
                }

                if (!ulong.TryParse(line.AsSpan(0, first), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var address) || address == 0)
                {
                    continue;
                }

                var name = line[(first + 3)..];
                var tab = name.IndexOf('\t');
                symbols.Add((address, tab < 0 ? name : name[..tab]));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        symbols.Sort((a, b) => a.Address.CompareTo(b.Address));
        return new KernelSymbols(symbols.Select(s => s.Address).ToArray(), symbols.Select(s => s.Name).ToArray());
    }

    /// <summary>The kernel function at or before <paramref name="address"/>.</summary>
    public string Lookup(ulong address)
    {
        var index = Array.BinarySearch(_starts, address);
        if (index < 0)
        {
            index = ~index - 1;
        }

        return index >= 0 ? _names[index] : Module;
    }
}
