using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Text;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// The kernel's function names from <c>/proc/kallsyms</c>, read once per profile and only when its samples
/// have kernel frames. The file (about 5 MB, 120,000 symbols) is kept as bytes while the profile is named:
/// only addresses are parsed up front, and a name becomes a string when a sample lands in it. When the kernel
/// hides its addresses (kptr_restrict, all zeros), every kernel frame is named <c>[kernel]</c>.
/// </summary>
internal sealed class KernelSymbols
{
    public const string Module = "[kernel]";

    private readonly byte[] _text;
    private readonly ulong[] _starts;
    private readonly int[] _names;
    private readonly Dictionary<int, string> _named = [];

    private KernelSymbols(byte[] text, ulong[] starts, int[] names)
    {
        _text = text;
        _starts = starts;
        _names = names;
    }

    // Runs once per profile over 120,000 lines: compiled optimised at once (AggressiveOptimization), where tier 0
    // would run most of the loop before on-stack replacement.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static KernelSymbols Read(string path = "/proc/kallsyms")
    {
        byte[] text;
        try
        {
            text = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            text = [];
        }

        // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t name\t[module]": text symbols (t, T) only.
        var starts = new List<ulong>(1 << 17);
        var names = new List<int>(1 << 17);
        var span = text.AsSpan();
        var sorted = true;
        for (var at = 0; at < span.Length;)
        {
            var end = span[at..].IndexOf((byte)'\n');
            var line = end < 0 ? span[at..] : span.Slice(at, end);
            var space = line.IndexOf((byte)' ');
            if (space > 0 && space + 3 < line.Length && (line[space + 1] | 0x20) == 't' && line[space + 2] == ' '
                && Utf8Parser.TryParse(line[..space], out ulong address, out var used, 'x') && used == space && address != 0)
            {
                sorted &= starts.Count == 0 || starts[^1] <= address;
                starts.Add(address);
                names.Add(at + space + 3);
            }

            at = end < 0 ? span.Length : at + end + 1;
        }

        // The kernel lists its own symbols in address order and each module's after them: sorting is needed only
        // when modules are loaded.
        var startArray = starts.ToArray();
        var nameArray = names.ToArray();
        if (!sorted)
        {
            Array.Sort(startArray, nameArray);
        }

        return new KernelSymbols(text, startArray, nameArray);
    }

    /// <summary>The kernel function at or before <paramref name="address"/>.</summary>
    public string Lookup(ulong address)
    {
        var index = SortedStarts.AtOrBefore(_starts, address);
        if (index < 0)
        {
            return Module;
        }

        var offset = _names[index];
        if (!_named.TryGetValue(offset, out var name))
        {
            var rest = _text.AsSpan(offset);
            var length = rest.IndexOfAny((byte)'\t', (byte)'\n');
            name = Encoding.UTF8.GetString(length < 0 ? rest : rest[..length]);
            _named.Add(offset, name);
        }

        return name;
    }
}
