using System.Runtime.CompilerServices;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Where the runtime put each method's native code, read from an EventPipe recording of the runtime's
/// method events (code JIT'd while recording) and its rundown (all code alive at the end, JIT'd and
/// ReadyToRun): start, size, name, module, and the IL-to-native map that gives source lines for the
/// proxy's own modules (portable PDBs beside them, <see cref="PortablePdb"/>; never a symbol server).
/// </summary>
internal sealed class ManagedCode : IDisposable
{
    private readonly List<Method> _methods = [];
    private readonly Dictionary<(long MethodId, long CodeVersion), Method> _byVersion = [];
    /// <summary>Every code version's map, kept as a range of <see cref="_mapEntries"/> until it is known to be sampled.</summary>
    private readonly Dictionary<(long MethodId, long CodeVersion), (int Start, int Count)> _maps = [];

    /// <summary>The maps' entries, all in one list: the rundown has some 15,000 maps, and a profile uses a few hundred.</summary>
    private readonly List<(int Native, int IL)> _mapEntries = new(1 << 16);
    private readonly Dictionary<long, string> _modulePaths = [];
    private readonly Dictionary<string, PortablePdb?> _pdbs = new(StringComparer.Ordinal);
    private readonly string _folder = AppContext.BaseDirectory;
    private readonly ulong[] _wanted;
    private ulong[] _starts = [];

    private ManagedCode(ulong[] wanted)
    {
        _wanted = wanted;
    }

    /// <summary>Methods the recording described, sampled or not.</summary>
    public int Described { get; private set; }

    /// <summary>Methods kept: those a sampled address falls in.</summary>
    public int Count => _methods.Count;

    /// <summary>Rundown events the runtime dropped (its buffer full): code they described stays unnamed.</summary>
    public int EventsLost { get; private set; }

    /// <summary>Methods with an IL-to-native map (source lines possible).</summary>
    public int Mapped => _methods.Count(m => m.Map is not null);


    /// <summary>
    /// Reads the recording, keeping only the methods that hold one of <paramref name="sampledAddresses"/>
    /// (sorted): naming the other ten thousand would cost most of the reading.
    /// </summary>
    public static ManagedCode Read(string nettracePath, ulong[] sampledAddresses)
    {
        var code = new ManagedCode(sampledAddresses);
        using (var source = new EventPipeEventSource(nettracePath))
        {
            var rundown = new ClrRundownTraceEventParser(source);
            source.Clr.MethodLoadVerbose += code.OnMethod;
            rundown.MethodDCStopVerbose += code.OnMethod;
            source.Clr.MethodILToNativeMap += code.OnMap;
            rundown.MethodILToNativeMapDCStop += code.OnMap;
            source.Clr.LoaderModuleLoad += code.OnModule;
            rundown.LoaderModuleDCStop += code.OnModule;
            source.Process();
            code.EventsLost = source.EventsLost;
        }

        code.Index();
        return code;
    }

    // The callbacks run once per event, 15,000 times each on a first profile: compiled optimised at once, not at
    // tier 0 first and again in the background once they are hot.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnMethod(MethodLoadUnloadVerboseTraceData e)
    {
        if (e.MethodStartAddress == 0 || e.MethodSize == 0)
        {
            return;
        }

        Described++;

        // A return address is looked up one byte back, so one just past the end counts too.
        var start = e.MethodStartAddress;
        var index = SortedStarts.FirstAtOrAbove(_wanted, start);
        if (index >= _wanted.Length || _wanted[index] > start + (ulong)e.MethodSize)
        {
            return;
        }

        var signature = e.MethodSignature;
        var parameters = signature.IndexOf('(', StringComparison.Ordinal) is var open and >= 0 ? signature[open..] : "";
        var name = e.MethodNamespace.Length > 0 ? $"{e.MethodNamespace}.{e.MethodName}" : e.MethodName;
        var method = new Method(e.MethodStartAddress, (uint)e.MethodSize, name, parameters, e.ModuleID, (uint)e.MethodToken);
        _methods.Add(method);
        _byVersion[(e.MethodID, e.ReJITID)] = method;
    }

    /// <summary>
    /// A code version's IL-to-native map, matched to its method by method id and code version (the event's
    /// ReJITID), not by order: the rundown sends a map before its method's event, JIT events after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnMap(MethodILToNativeMapTraceData e)
    {
        // Extent 0 is the method's main body; the map of cold code (1) is not used.
        if (e.MethodExtent != 0)
        {
            return;
        }

        var start = _mapEntries.Count;
        var count = e.CountOfMapEntries;
        for (var i = 0; i < count; i++)
        {
            _mapEntries.Add((e.NativeOffset(i), e.ILOffset(i)));
        }

        _maps[(e.MethodID, e.ReJITID)] = (start, count);
    }

    private void OnModule(ModuleLoadUnloadTraceData e) => _modulePaths[e.ModuleID] = e.ModuleILPath;

    /// <summary>
    /// Gives each code version its map (one that reaches past the code's end belongs to another version and is
    /// not used), then sorts by address; where code was replaced at the same address, the latest record wins.
    /// </summary>
    private void Index()
    {
        foreach (var (version, method) in _byVersion)
        {
            if (_maps.TryGetValue(version, out var range) && range.Count > 0)
            {
                var map = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_mapEntries).Slice(range.Start, range.Count).ToArray();
                Array.Sort(map, (a, b) => a.Native.CompareTo(b.Native));
                if (map[^1].Native <= method.Size)
                {
                    method.Map = map;
                }
            }
        }

        var byStart = new Dictionary<ulong, Method>();
        foreach (var method in _methods)
        {
            byStart[method.Start] = method;
        }

        _methods.Clear();
        _methods.AddRange(byStart.Values.OrderBy(m => m.Start));
        _starts = _methods.Select(m => m.Start).ToArray();
    }

    /// <summary>
    /// The frame at <paramref name="address"/>, or null when no method's code holds it. A return address
    /// (<paramref name="returnAddress"/>) is looked up one byte earlier, inside the call it returns from.
    /// </summary>
    public StackFrameInfo? Lookup(ulong address, bool returnAddress)
    {
        var at = returnAddress ? address - 1 : address;
        var index = SortedStarts.AtOrBefore(_starts, at);
        if (index < 0)
        {
            return null;
        }

        var method = _methods[index];
        if (at >= method.Start + method.Size)
        {
            return null;
        }

        var modulePath = _modulePaths.GetValueOrDefault(method.ModuleId, "");
        var module = modulePath.Length > 0 ? Path.GetFileNameWithoutExtension(modulePath) : "?";
        var (file, line) = SourceLine(method, modulePath, (int)(at - method.Start));
        return new StackFrameInfo(address, method.Name, $"{module}!{method.Name}{method.Parameters}", module, file, line);
    }

    private (string File, int Line) SourceLine(Method method, string modulePath, int nativeOffset)
    {
        if (method.Map is null || !modulePath.StartsWith(_folder, StringComparison.Ordinal))
        {
            return ("", 0);
        }

        // The IL offset of the last mapped instruction at or before this one; prolog, epilog and
        // unmapped entries are negative.
        var il = -1;
        foreach (var (native, ilOffset) in method.Map)
        {
            if (native > nativeOffset)
            {
                break;
            }

            if (ilOffset >= 0)
            {
                il = ilOffset;
            }
        }

        if (il < 0 || Pdb(modulePath) is not { } pdb)
        {
            return ("", 0);
        }

        return pdb.Line(method.Token, il);
    }

    private PortablePdb? Pdb(string modulePath)
    {
        if (!_pdbs.TryGetValue(modulePath, out var pdb))
        {
            pdb = PortablePdb.Open(Path.ChangeExtension(modulePath, ".pdb"));
            _pdbs.Add(modulePath, pdb);
        }

        return pdb;
    }

    public void Dispose()
    {
        foreach (var pdb in _pdbs.Values)
        {
            pdb?.Dispose();
        }
    }

    private sealed class Method(ulong start, uint size, string name, string parameters, long moduleId, uint token)
    {
        public ulong Start { get; } = start;
        public uint Size { get; } = size;
        public string Name { get; } = name;
        public string Parameters { get; } = parameters;
        public long ModuleId { get; } = moduleId;
        public uint Token { get; } = token;
        public (int Native, int IL)[]? Map { get; set; }
    }
}
