using System.Net.Sockets;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using SrsProxy.Profiling;
using SrsProxy.Profiling.Perf;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// The CPU profile names JIT'd code from the runtime's method rundown, which it asks this process's runtime for
/// over its diagnostics port and reads as a NetTrace stream with a reader of its own. Here the test process's
/// real runtime is asked, and TraceEvent, the trace reader of PerfView and dotnet-trace, reads the same bytes:
/// both must find the same methods, names, maps and modules.
/// </summary>
public sealed class NettraceReaderTests
{
    [Fact]
    public async Task Rundown_ReadByOwnReader_AgreesWithTraceEvent()
    {
        var bytes = await RecordRundownAsync();

        // TraceEvent: every method the rundown describes, its IL-to-native maps and its modules.
        var methods = new List<(ulong Start, int Size, string Name, string Signature, long MethodId, long ModuleId)>();
        var maps = new Dictionary<long, int>();
        var modules = new Dictionary<long, string>();
        int lost;
        using (var source = new EventPipeEventSource(new MemoryStream(bytes)))
        {
            var rundown = new ClrRundownTraceEventParser(source);
            rundown.MethodDCStopVerbose += e =>
            {
                if (e.MethodStartAddress != 0 && e.MethodSize != 0)
                {
                    methods.Add((e.MethodStartAddress, e.MethodSize, e.MethodNamespace.Length > 0 ? $"{e.MethodNamespace}.{e.MethodName}" : e.MethodName, e.MethodSignature, e.MethodID, e.ModuleID));
                }
            };
            rundown.MethodILToNativeMapDCStop += e =>
            {
                if (e.MethodExtent == 0)
                {
                    maps[e.MethodID] = e.CountOfMapEntries;
                }
            };
            rundown.LoaderModuleDCStop += e => modules[e.ModuleID] = e.ModuleILPath;
            source.Process();
            lost = source.EventsLost;
        }

        Assert.Equal(0, lost);
        Assert.True(methods.Count > 1000, $"only {methods.Count} methods in the rundown");
        Assert.Contains(methods, m => m.Name == $"{typeof(NettraceReaderTests).FullName}.{nameof(RecordRundownAsync)}" || m.Name.Contains(nameof(NettraceReaderTests), StringComparison.Ordinal));

        // The own reader, asked for every method's first byte; code at one address more than once keeps the last.
        var unique = methods.GroupBy(m => m.Start).Where(g => g.Count() == 1).Select(g => g.Single()).ToList();
        var wanted = methods.Select(m => m.Start).Distinct().Order().ToArray();
        using var code = ManagedCode.Read(new MemoryStream(bytes), wanted);

        Assert.Equal(0, code.EventsLost);
        Assert.Equal(bytes.Length, code.Bytes);
        Assert.Equal(methods.Count, code.Described);
        Assert.Equal(wanted.Length, code.Count);
        foreach (var method in unique)
        {
            var frame = code.Lookup(method.Start, returnAddress: false);
            Assert.NotNull(frame);
            Assert.Equal(method.Name, frame.Function);
            var module = Path.GetFileNameWithoutExtension(modules.GetValueOrDefault(method.ModuleId, ""));
            Assert.Equal(module.Length > 0 ? module : "?", frame.Module);
            var parameters = method.Signature.IndexOf('(', StringComparison.Ordinal) is var open and >= 0 ? method.Signature[open..] : "";
            Assert.Equal($"{frame.Module}!{method.Name}{parameters}", frame.SystemName);

            // Past its end is not the method's (unless the next one starts there).
            var after = code.Lookup(method.Start + (ulong)method.Size, returnAddress: false);
            Assert.True(after is null || after.Function != method.Name || methods.Any(m => m.Start == method.Start + (ulong)method.Size));
        }

        // This very method's code carries source lines from the test assembly's PDB, through its IL-to-native map.
        Assert.True(maps.Count > 1000, $"only {maps.Count} maps");
        Assert.True(code.Mapped > 0);
    }

    [Fact]
    public async Task Port_IsTheSocketTheRuntimeNamed_AndAnswersEverySession()
    {
        // The runtime names its socket after the process id and its start time in clock ticks (/proc/self/stat, field 22).
        var stat = await File.ReadAllTextAsync("/proc/self/stat");
        var startTicks = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19];
        var directory = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
        Assert.Equal(Path.Combine(directory, $"dotnet-diagnostic-{Environment.ProcessId}-{startTicks}-socket"), DiagnosticsPort.SocketPath());

        // Sessions one after another each get a whole rundown, and each ends with the stream.
        for (var i = 0; i < 3; i++)
        {
            var bytes = await RecordRundownAsync();
            using var all = ManagedCode.Read(new MemoryStream(bytes), [0, ulong.MaxValue]);
            Assert.True(all.Described > 1000, $"session {i}: {all.Described} methods");
            Assert.Equal(bytes.Length, all.Bytes);
        }
    }

    [Fact]
    public async Task Reader_TruncatedOrForeignOrOversized_IsAClearError()
    {
        Assert.Throws<InvalidDataException>(() => ManagedCode.Read(new MemoryStream("Netrace!"u8.ToArray()), []));
        Assert.Throws<InvalidDataException>(() => ManagedCode.Read(new MemoryStream([]), []));
        var recorded = await RecordRundownAsync();
        Assert.Throws<InvalidDataException>(() => ManagedCode.Read(new MemoryStream(recorded[..(recorded.Length / 2)]), []));
        Assert.Throws<ProfileTooLargeException>(() => ManagedCode.Read(new MemoryStream(recorded), [], maxBytes: 64 * 1024));
    }

    /// <summary>The runtime's rundown as it streams from this process's diagnostics port, start to end.</summary>
    private static async Task<byte[]> RecordRundownAsync()
    {
        var (id, socket) = await DiagnosticsPort.StartAsync(64, rundown: true, [(RuntimeProviders.EventPipe, 0, 4)], CancellationToken.None);
        using (socket)
        {
            var copy = new MemoryStream();
            var reading = Task.Factory.StartNew(() => new NetworkStream(socket).CopyTo(copy), TaskCreationOptions.LongRunning);
            await DiagnosticsPort.StopAsync(id, CancellationToken.None);
            await reading.WaitAsync(TimeSpan.FromSeconds(30));
            return copy.ToArray();
        }
    }
}
