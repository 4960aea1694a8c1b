using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Where the runtime put each method's native code, read from the runtime's method rundown (all code alive when
/// it is asked for, JIT'd and ReadyToRun) as a NetTrace stream (<see cref="NettraceReader"/>): start, size, name,
/// module, and the IL-to-native map that gives source lines for the proxy's own modules (portable PDBs beside
/// them, <see cref="PortablePdb"/>; never a symbol server).
/// </summary>
internal sealed class ManagedCode : INettraceSink, IDisposable
{
    /// <summary>The events read here (ClrEtwAll.man): the rundown's, and the runtime's own for code loaded while a session with it records.</summary>
    internal const int MethodDCEndVerbose = 144;
    internal const int MethodDCEndILToNativeMap = 150;
    internal const int ModuleDCEnd = 154;
    internal const int MethodLoadVerbose = 143;
    internal const int MethodILToNativeMap = 190;
    internal const int ModuleLoad = 152;

    private const int MethodHandler = 1;
    private const int MapHandler = 2;
    private const int ModuleHandler = 3;

    /// <summary>How long the runtime may take to write its rundown once asked to stop.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a reading thread whose stream was closed may take to end before its buffers are left to the GC.</summary>
    private static readonly TimeSpan ReaderEndTimeout = TimeSpan.FromSeconds(5);

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
    public long EventsLost { get; private set; }

    /// <summary>Bytes of the NetTrace stream read.</summary>
    public long Bytes { get; private set; }

    /// <summary>Why managed code is not named in this profile (the runtime's diagnostics port is off), or null.</summary>
    public string? Unavailable { get; private init; }

    /// <summary>No method named, for <paramref name="reason"/>: the profile still names native and kernel code.</summary>
    private static ManagedCode Unnamed(string reason) => new([]) { Unavailable = reason };

    /// <summary>Methods with an IL-to-native map (source lines possible).</summary>
    public int Mapped => _methods.Count(m => m.Map is not null);

    /// <summary>
    /// Asks this process's runtime for its method rundown over its own diagnostics port (<see cref="DiagnosticsPort"/>)
    /// and reads it as it streams, keeping only the methods that hold one of <paramref name="sampledAddresses"/>
    /// (sorted): naming the other ten thousand would cost most of the reading. Where the port is off, no method
    /// is named (<see cref="Unavailable"/> says why).
    /// </summary>
    public static async Task<ManagedCode> FromRundownAsync(ulong[] sampledAddresses, long maxBytes, CancellationToken cancellationToken)
    {
        ulong id;
        Socket socket;
        try
        {
            (id, socket) = await DiagnosticsPort.StartAsync(64, rundown: true, [(RuntimeProviders.EventPipe, 0, 4)], cancellationToken);
        }
        catch (ProfileUnavailableException e)
        {
            // The diagnostics port is off: the profile is still served, native and kernel code named.
            return Unnamed(e.Message);
        }

        using (socket)
        {
            var code = new ManagedCode(sampledAddresses);
            var reading = code.ReadOnThreadOfItsOwn(new NetworkStream(socket, ownsSocket: false), maxBytes);
            try
            {
                // Stopped whatever happens to the request meanwhile: a session left running would go on recording.
                using var timeout = new CancellationTokenSource(StopTimeout);
                await DiagnosticsPort.StopAsync(id, timeout.Token);
                await reading.WaitAsync(timeout.Token);
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (Exception e)
            {
                // Close the stream first: the reading thread then ends, and only then is what it writes into freed.
                socket.Dispose();
                if (await Task.WhenAny(reading, Task.Delay(ReaderEndTimeout)) == reading)
                {
                    code.Dispose();
                }

                if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw new ProfileUnavailableException(string.Create(CultureInfo.InvariantCulture,
                        $"the runtime did not end its rundown session within {StopTimeout.TotalSeconds:0} s"));
                }

                throw;
            }

            code.Index();
            return code;
        }
    }

    /// <summary>Reads a recorded NetTrace stream (a file, a test's capture) the same way.</summary>
    public static ManagedCode Read(Stream nettrace, ulong[] sampledAddresses, long maxBytes = long.MaxValue)
    {
        var code = new ManagedCode(sampledAddresses);
        code.ReadAll(nettrace, maxBytes);
        code.Index();
        return code;
    }

    /// <summary>
    /// Reads on a dedicated thread, not the thread pool: while the runtime stops the session it holds EventPipe's
    /// configuration lock and writes the rundown into the stream, so the reader must keep reading and never wait
    /// for anything the runtime might be holding (TraceDrain says more). The reading does no logging and creates no
    /// EventSource, and a stream it cannot parse is still read to its end, so that the stop always completes.
    /// </summary>
    private Task ReadOnThreadOfItsOwn(Stream stream, long maxBytes)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReadAll(stream, maxBytes);
                done.SetResult();
            }
            catch (Exception e)
            {
                // Drain what is left, discarding, so that the runtime's stop is never left waiting on a full socket.
                try
                {
                    stream.CopyTo(Stream.Null);
                }
                catch (Exception e2) when (e2 is IOException or ObjectDisposedException or SocketException)
                {
                }

                done.SetException(e);
            }
        })
        { IsBackground = true, Name = "pprof rundown" };
        thread.Start();
        return done.Task;
    }

    private void ReadAll(Stream stream, long maxBytes)
    {
        var reader = new NettraceReader(stream, maxBytes);
        try
        {
            reader.Read(this);
        }
        finally
        {
            EventsLost = reader.EventsLost;
            Bytes = reader.Position;
        }
    }

    int INettraceSink.Handler(string provider, int eventId, int version) => (provider, eventId) switch
    {
        (RuntimeProviders.Rundown, MethodDCEndVerbose) or (RuntimeProviders.Runtime, MethodLoadVerbose) => MethodHandler,
        (RuntimeProviders.Rundown, MethodDCEndILToNativeMap) or (RuntimeProviders.Runtime, MethodILToNativeMap) => MapHandler,
        (RuntimeProviders.Rundown, ModuleDCEnd) or (RuntimeProviders.Runtime, ModuleLoad) => ModuleHandler,
        _ => 0,
    };

    // Runs once per event, 15,000 times per kind on a first profile: compiled optimised at once, not at tier 0
    // first and again in the background once it is hot.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void INettraceSink.OnEvent(int handler, int version, ReadOnlySpan<byte> payload)
    {
        switch (handler)
        {
            case MethodHandler:
                OnMethod(payload, version);
                break;
            case MapHandler:
                OnMap(payload);
                break;
            case ModuleHandler:
                OnModule(payload);
                break;
        }
    }

    /// <summary>
    /// MethodLoadVerbose and MethodDCEndVerbose: method id, module id, start, size (4), token (4), flags (4),
    /// namespace, name and signature (UTF-16, zero-terminated), CLR instance (2), and from version 2 the code
    /// version (ReJITID, 8).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnMethod(ReadOnlySpan<byte> payload, int version)
    {
        if (payload.Length < 36)
        {
            return;
        }

        var start = BinaryPrimitives.ReadUInt64LittleEndian(payload[16..]);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(payload[24..]);
        if (start == 0 || size == 0)
        {
            return;
        }

        Described++;

        // A return address is looked up one byte back, so one just past the end counts too.
        var index = SortedStarts.FirstAtOrAbove(_wanted, start);
        if (index >= _wanted.Length || _wanted[index] > start + size)
        {
            return;
        }

        var at = 36;
        var ns = NettraceReader.ReadUtf16(payload, ref at);
        var methodName = NettraceReader.ReadUtf16(payload, ref at);
        var signature = NettraceReader.ReadUtf16(payload, ref at);
        at += 2;
        var codeVersion = version >= 2 && at + 8 <= payload.Length ? BinaryPrimitives.ReadInt64LittleEndian(payload[at..]) : 0;
        var methodId = BinaryPrimitives.ReadInt64LittleEndian(payload);
        var moduleId = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        var token = BinaryPrimitives.ReadUInt32LittleEndian(payload[28..]);

        var parameters = signature.IndexOf('(', StringComparison.Ordinal) is var open and >= 0 ? signature[open..] : "";
        var name = ns.Length > 0 ? $"{ns}.{methodName}" : methodName;
        var method = new Method(start, size, name, parameters, moduleId, token);
        _methods.Add(method);
        _byVersion[(methodId, codeVersion)] = method;
    }

    /// <summary>
    /// A code version's IL-to-native map (method id, code version, extent (1), count (2), the IL offsets, then the
    /// native offsets, 4 bytes each), matched to its method by method id and code version, not by order: the
    /// rundown sends a map before its method's event, JIT events after it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnMap(ReadOnlySpan<byte> payload)
    {
        // Extent 0 is the method's main body; the map of cold code (1) is not used.
        if (payload.Length < 19 || payload[16] != 0)
        {
            return;
        }

        var count = BinaryPrimitives.ReadUInt16LittleEndian(payload[17..]);
        if (19 + (count * 8) > payload.Length)
        {
            return;
        }

        var il = payload.Slice(19, count * 4);
        var native = payload.Slice(19 + (count * 4), count * 4);
        var start = _mapEntries.Count;
        for (var i = 0; i < count; i++)
        {
            _mapEntries.Add((BinaryPrimitives.ReadInt32LittleEndian(native[(i * 4)..]), BinaryPrimitives.ReadInt32LittleEndian(il[(i * 4)..])));
        }

        _maps[(BinaryPrimitives.ReadInt64LittleEndian(payload), BinaryPrimitives.ReadInt64LittleEndian(payload[8..]))] = (start, count);
    }

    /// <summary>ModuleLoad and ModuleDCEnd: module id, assembly id, flags (4), reserved (4), then the IL path.</summary>
    private void OnModule(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 24)
        {
            return;
        }

        var at = 24;
        _modulePaths[BinaryPrimitives.ReadInt64LittleEndian(payload)] = NettraceReader.ReadUtf16(payload, ref at);
    }

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
