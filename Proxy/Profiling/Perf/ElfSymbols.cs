using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// The function symbols of one ELF64 little-endian file (<c>.symtab</c> when it was not stripped, else
/// <c>.dynsym</c>), read straight from the file: only the headers and the symbol and string sections, never
/// the whole file. Turns a file offset inside a loaded segment into the function that holds it.
/// </summary>
internal sealed class ElfSymbols
{
    private const uint SectionSymtab = 2;
    private const uint SectionDynsym = 11;
    private const uint SegmentLoad = 1;
    private const int FunctionType = 2;

    private readonly (ulong Offset, ulong Address, ulong Size)[] _segments;
    private readonly ulong[] _starts;
    private readonly ulong[] _ends;
    private readonly string[] _names;

    private ElfSymbols((ulong, ulong, ulong)[] segments, List<(ulong Start, ulong Size, string Name)> functions)
    {
        _segments = segments;

        // Aliases share a start (getpid, __getpid): one name per address, the public one (fewest leading
        // underscores), which sorts first among its aliases. One sort and one pass: this runs once per profile,
        // and LINQ's grouping would first be compiled for it.
        functions.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : Preference(a.Name, b.Name));
        var starts = new List<ulong>(functions.Count);
        var ends = new List<ulong>(functions.Count);
        var names = new List<string>(functions.Count);
        foreach (var (start, size, name) in functions)
        {
            if (starts.Count == 0 || starts[^1] != start)
            {
                starts.Add(start);
                ends.Add(start + size);
                names.Add(name);
            }
        }

        _starts = [.. starts];
        _ends = [.. ends];
        _names = [.. names];
    }

    private static int Preference(string a, string b)
    {
        var underscores = (a.Length - a.TrimStart('_').Length).CompareTo(b.Length - b.TrimStart('_').Length);
        return underscores != 0 ? underscores : a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
    }

    /// <summary>The symbols of <paramref name="path"/>, or an empty table when it is not a readable ELF64 file.</summary>
    public static ElfSymbols Read(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            return Parse(file) ?? Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or OverflowException)
        {
            return Empty;
        }
    }

    private static readonly ElfSymbols Empty = new([], []);

    private static ElfSymbols? Parse(SafeFileHandle file)
    {
        var header = ReadAt(file, 0, 64);
        if (header.Length < 64 || BinaryPrimitives.ReadUInt32BigEndian(header) != 0x7F454C46 || header[4] != 2 || header[5] != 1)
        {
            return null;
        }

        var programOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x20));
        var sectionOffset = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x28));
        int programSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x36));
        int programCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x38));
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        if (programSize < 56 || sectionSize < 64 || sectionCount == 0)
        {
            return null;
        }

        var segments = new List<(ulong, ulong, ulong)>();
        var programs = ReadAt(file, (long)programOffset, programSize * programCount);
        for (var i = 0; i + programSize <= programs.Length; i += programSize)
        {
            var p = programs.AsSpan(i);
            if (BinaryPrimitives.ReadUInt32LittleEndian(p) == SegmentLoad)
            {
                segments.Add((BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), BinaryPrimitives.ReadUInt64LittleEndian(p[16..]), BinaryPrimitives.ReadUInt64LittleEndian(p[32..])));
            }
        }

        var sections = ReadAt(file, (long)sectionOffset, sectionSize * sectionCount);
        Section At(int index)
        {
            var s = sections.AsSpan(index * sectionSize);
            return new Section(BinaryPrimitives.ReadUInt32LittleEndian(s[4..]), BinaryPrimitives.ReadUInt64LittleEndian(s[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(s[32..]), BinaryPrimitives.ReadUInt32LittleEndian(s[40..]), BinaryPrimitives.ReadUInt64LittleEndian(s[56..]));
        }

        // The full table when the file has one; the exported symbols otherwise.
        var table = -1;
        for (var i = 0; i < sectionCount && (i + 1) * sectionSize <= sections.Length; i++)
        {
            var type = At(i).Type;
            if (type == SectionSymtab || (type == SectionDynsym && table < 0))
            {
                table = i;
            }
        }

        var functions = new List<(ulong, ulong, string)>();
        if (table >= 0)
        {
            var symbols = At(table);
            if (symbols.Link < sectionCount && symbols.EntrySize >= 24)
            {
                var strings = At((int)symbols.Link);
                var names = ReadAt(file, (long)strings.Offset, checked((int)strings.Size));
                var entries = ReadAt(file, (long)symbols.Offset, checked((int)symbols.Size));
                for (var i = 0; i + (int)symbols.EntrySize <= entries.Length; i += (int)symbols.EntrySize)
                {
                    var e = entries.AsSpan(i);
                    var value = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
                    var size = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
                    if ((e[4] & 0xF) != FunctionType || value == 0)
                    {
                        continue;
                    }

                    var nameAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(e);
                    if (nameAt >= names.Length)
                    {
                        continue;
                    }

                    var end = names.AsSpan(nameAt).IndexOf((byte)0);
                    var name = System.Text.Encoding.UTF8.GetString(names, nameAt, end < 0 ? names.Length - nameAt : end);
                    functions.Add((value, Math.Max(size, 1), name));
                }
            }
        }

        return new ElfSymbols([.. segments], functions);
    }

    /// <summary>The function at a file offset of a mapped segment, or null.</summary>
    public string? FunctionAtFileOffset(ulong fileOffset)
    {
        foreach (var (offset, address, size) in _segments)
        {
            if (fileOffset >= offset && fileOffset < offset + size)
            {
                return FunctionAt(fileOffset - offset + address);
            }
        }

        return null;
    }

    private string? FunctionAt(ulong address)
    {
        var index = SortedStarts.AtOrBefore(_starts, address);

        // Symbols may nest or overlap (aliases); the nearest start below is the usual answer.
        return index >= 0 && address < _ends[index] ? _names[index] : null;
    }

    private static byte[] ReadAt(SafeFileHandle file, long offset, int count)
    {
        if (count <= 0 || offset < 0)
        {
            return [];
        }

        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = RandomAccess.Read(file, buffer.AsSpan(read), offset + read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read == count ? buffer : buffer[..read];
    }

    private readonly record struct Section(uint Type, ulong Offset, ulong Size, uint Link, ulong EntrySize);
}
