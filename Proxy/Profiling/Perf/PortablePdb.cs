using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Source lines from a portable PDB beside one of the proxy's assemblies: for a method (its metadata token) and
/// an IL offset, the sequence point at or before that offset. Read with System.Reflection.Metadata alone, so
/// naming a profile loads no symbol-server client (TraceEvent's <c>SymbolReader</c> builds an HTTP client and
/// parses a symbol path, JIT work on a process's first profile for files that are always local).
/// </summary>
internal sealed class PortablePdb : IDisposable
{
    private readonly MetadataReaderProvider _provider;
    private readonly MetadataReader _reader;
    private readonly int _methods;

    private PortablePdb(MetadataReaderProvider provider)
    {
        _provider = provider;
        _reader = provider.GetMetadataReader();
        _methods = _reader.GetTableRowCount(TableIndex.MethodDebugInformation);
    }

    /// <summary>The PDB at <paramref name="path"/>, or null when there is none or it is not a portable PDB.</summary>
    public static PortablePdb? Open(string path)
    {
        // Most modules have none (a self-contained build's framework sits in the same folder without PDBs): asked
        // first, so that a missing file is not an exception, whose first throw makes the JIT compile some 200 methods.
        if (!File.Exists(path))
        {
            return null;
        }

        FileStream stream;
        try
        {
            stream = File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        try
        {
            // Read whole: the stream is closed at once, and the reader owns its copy.
            return new PortablePdb(MetadataReaderProvider.FromPortablePdbStream(stream, MetadataStreamOptions.PrefetchMetadata));
        }
        catch (BadImageFormatException)
        {
            stream.Dispose();
            return null;
        }
    }

    /// <summary>
    /// The source file and line of IL offset <paramref name="ilOffset"/> in the method with metadata token
    /// <paramref name="methodToken"/>, or ("", 0) when the PDB has no line for it (hidden code, no such method).
    /// </summary>
    public (string File, int Line) Line(uint methodToken, int ilOffset)
    {
        var row = (int)(methodToken & 0x00FF_FFFF);
        if (methodToken >> 24 != 0x06 || row < 1 || row > _methods)
        {
            return ("", 0);
        }

        SequencePoint? last = null;
        foreach (var point in _reader.GetMethodDebugInformation(MetadataTokens.MethodDebugInformationHandle(row)).GetSequencePoints())
        {
            if (point.Offset > ilOffset)
            {
                break;
            }

            if (!point.IsHidden)
            {
                last = point;
            }
        }

        return last is { } found ? (_reader.GetString(_reader.GetDocument(found.Document).Name), found.StartLine) : ("", 0);
    }

    public void Dispose() => _provider.Dispose();
}
