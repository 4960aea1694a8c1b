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

        // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t name\t[module]": text symbols (t, T) only. Parsed byte
        // by byte here, without the framework's span searches and number parsing: those would run 120,000 times as
        // unoptimised first-tier code, where this loop is compiled optimised.
        var starts = new List<ulong>(1 << 17);
        var names = new List<int>(1 << 17);
        var sorted = true;
        var previous = 0UL;
        var length = text.Length;
        for (var at = 0; at < length;)
        {
            var address = 0UL;
            var i = at;
            for (; i < length; i++)
            {
                var c = text[i];
                uint digit;
                if ((uint)(c - '0') <= 9)
                {
                    digit = (uint)(c - '0');
                }
                else if ((uint)((c | 0x20) - 'a') <= 5)
                {
                    digit = (uint)((c | 0x20) - 'a' + 10);
                }
                else
                {
                    break;
                }

                address = (address << 4) | digit;
            }

            var digits = i - at;
            if (digits is > 0 and <= 16 && i + 3 < length && text[i] == ' ' && (text[i + 1] | 0x20) == 't' && text[i + 2] == ' '
                && text[i + 3] != '\n' && address != 0)
            {
                sorted &= address >= previous;
                previous = address;
                starts.Add(address);
                names.Add(i + 3);
            }

            while (i < length && text[i] != '\n')
            {
                i++;
            }

            at = i + 1;
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
