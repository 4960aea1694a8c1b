using System.Globalization;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Names native code of this process: the executable mappings of <c>/proc/self/maps</c> (read once per
/// profile, when it is decoded) and each mapped file's ELF symbols, read only for files a sample landed in.
/// Code in a file without a symbol for it is named after the file (<c>[libcoreclr.so]</c>).
/// </summary>
internal sealed class NativeCode
{
    private readonly List<Mapping> _mappings = [];
    private readonly Dictionary<string, ElfSymbols> _files = new(StringComparer.Ordinal);

    private NativeCode()
    {
    }

    public static NativeCode ReadSelf()
    {
        var code = new NativeCode();
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                if (Mapping.TryParse(line, out var mapping))
                {
                    code._mappings.Add(mapping);
                }
            }
        }
        catch (IOException)
        {
        }

        code._mappings.Sort((a, b) => a.Start.CompareTo(b.Start));
        return code;
    }

    /// <summary>The function and module of a native address, or null when no executable mapping holds it.</summary>
    public (string Function, string Module)? Lookup(ulong address)
    {
        var mapping = Find(address);
        if (mapping is null)
        {
            return null;
        }

        var path = mapping.Value.Path;
        var module = path.StartsWith('[') ? path : Path.GetFileName(path);
        if (!path.StartsWith('/'))
        {
            return ($"[{module.Trim('[', ']')}]", module);
        }

        if (!_files.TryGetValue(path, out var symbols))
        {
            symbols = ElfSymbols.Read(path);
            _files.Add(path, symbols);
        }

        var function = symbols.FunctionAtFileOffset(address - mapping.Value.Start + mapping.Value.Offset);
        return (function ?? $"[{module}]", module);
    }

    private Mapping? Find(ulong address)
    {
        int low = 0, high = _mappings.Count - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var m = _mappings[middle];
            if (address < m.Start)
            {
                high = middle - 1;
            }
            else if (address >= m.End)
            {
                low = middle + 1;
            }
            else
            {
                return m;
            }
        }

        return null;
    }

    /// <summary>One executable mapping: <c>start-end perms offset dev inode path</c>.</summary>
    private readonly record struct Mapping(ulong Start, ulong End, ulong Offset, string Path)
    {
        public static bool TryParse(string line, out Mapping mapping)
        {
            mapping = default;
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || parts[1].Length < 3 || parts[1][2] != 'x')
            {
                return false;
            }

            var range = parts[0].Split('-');
            if (range.Length != 2
                || !ulong.TryParse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end)
                || !ulong.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var offset))
            {
                return false;
            }

            // The runtime's own executable memory (JIT'd code and stubs, "/memfd:doublemapper") is not a file.
            var path = parts[5].Trim();
            if (path.StartsWith("/memfd:", StringComparison.Ordinal))
            {
                return false;
            }

            mapping = new Mapping(start, end, offset, path);
            return true;
        }
    }
}
