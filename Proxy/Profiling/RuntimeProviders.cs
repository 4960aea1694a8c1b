using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace SrsProxy.Profiling;

/// <summary>The EventPipe providers each profile records, and how to recognise the sampler's events.</summary>
internal static class RuntimeProviders
{
    public const string SampleProfiler = "Microsoft-DotNETCore-SampleProfiler";

    public const string Runtime = "Microsoft-Windows-DotNETRuntime";

    /// <summary>The runtime's rundown: every piece of code alive, described when a session with rundown stops.</summary>
    public const string Rundown = "Microsoft-Windows-DotNETRuntimeRundown";

    /// <summary>
    /// EventPipe's own provider (one event, the process's description): a session for the rundown alone enables
    /// only it. Not the runtime's provider: enabling that one also enables its managed twin
    /// (<c>NativeRuntimeEventSource</c>), which builds its event manifest by reflection on first use, about 80 ms of
    /// CPU in the very process being profiled. The rundown comes from <see cref="Rundown"/>, which a session with
    /// rundown enables whatever its providers.
    /// </summary>
    public const string EventPipe = "Microsoft-DotNETCore-EventPipe";

    /// <summary>
    /// Method names of code JIT'd while recording (Loader, Jit) and IL-to-native maps for source lines; code
    /// JIT'd before comes from the rundown at the end.
    /// </summary>
    private const long MethodKeywords = (long)(ClrTraceEventParser.Keywords.Loader | ClrTraceEventParser.Keywords.Jit
        | ClrTraceEventParser.Keywords.JittedMethodILToNativeMap);

    /// <summary>Thread stacks about once a millisecond, plus method names.</summary>
    public static EventPipeProvider[] Sampling() =>
    [
        new(SampleProfiler, EventLevel.Informational),
        new(Runtime, EventLevel.Informational, MethodKeywords),
    ];

    /// <summary>GC AllocationTick (verbose GC events, about one per 100 KB allocated) with stacks, plus method names.</summary>
    public static EventPipeProvider[] Allocations() =>
    [
        new(Runtime, EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC | MethodKeywords),
    ];

    /// <summary>What dotnet-gcdump asks for: an induced full GC that reports every live object and type.</summary>
    public static EventPipeProvider[] HeapSnapshot() =>
    [
        new(Runtime, EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GCHeapSnapshot),
    ];

    /// <summary>
    /// A runtime trace for PerfView or <c>dotnet-trace convert</c>: GC, JIT and loader, exceptions, lock
    /// contention, thread pool and thread events, and CPU samples.
    /// </summary>
    public static EventPipeProvider[] RuntimeTrace() =>
    [
        new(SampleProfiler, EventLevel.Informational),
        new(Runtime, EventLevel.Informational, MethodKeywords | (long)(ClrTraceEventParser.Keywords.GC
            | ClrTraceEventParser.Keywords.Exception | ClrTraceEventParser.Keywords.Contention
            | ClrTraceEventParser.Keywords.Threading | ClrTraceEventParser.Keywords.Type)),
    ];

    public static bool IsThreadSample(TraceEvent e) =>
        e.ProviderName == SampleProfiler && e.EventName == "Thread/Sample";
}
