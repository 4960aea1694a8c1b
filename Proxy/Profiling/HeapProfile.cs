using Microsoft.Diagnostics.Tracing;

namespace SrsProxy.Profiling;

/// <summary>
/// The heap profile (<c>/debug/pprof/heap</c>): live managed objects by type, from a GC heap snapshot like
/// dotnet-gcdump's. The runtime induces a full blocking GC and reports every live object with its type and
/// size. It keeps no allocation stacks, so each type is a one-frame "stack" named after the type.
/// </summary>
internal static class HeapProfile
{
    public static ProfileBuilder Build(RecordedTrace trace, string mainBinary)
    {
        var typeNames = new Dictionary<ulong, string>();
        var byType = new Dictionary<ulong, (long Objects, long Bytes)>();
        long objects = 0, bytes = 0;
        int lost;
        using (var source = new EventPipeEventSource(trace.Path))
        {
            source.Clr.TypeBulkType += data =>
            {
                for (var i = 0; i < data.Count; i++)
                {
                    var type = data.Values(i);
                    typeNames[type.TypeID] = type.TypeName;
                }
            };
            source.Clr.GCBulkNode += data =>
            {
                for (var i = 0; i < data.Count; i++)
                {
                    var node = data.Values(i);
                    var known = byType.GetValueOrDefault(node.TypeID);
                    byType[node.TypeID] = (known.Objects + 1, known.Bytes + (long)node.Size);
                    objects++;
                    bytes += (long)node.Size;
                }
            };
            source.Process();
            lost = source.EventsLost;
        }

        if (objects == 0)
        {
            throw new ProfileUnavailableException("the runtime sent no heap snapshot (a GC was already running); try again");
        }

        var builder = new ProfileBuilder([("inuse_objects", "count"), ("inuse_space", "bytes")], mainBinary)
        {
            Time = trace.Started,
            Duration = trace.Window,
        };
        builder.SetPeriod("space", "bytes", 1);
        builder.SetDefaultSampleType("inuse_space");
        Span<long> values = stackalloc long[2];
        foreach (var (typeId, total) in byType)
        {
            var name = typeNames.GetValueOrDefault(typeId) is { Length: > 0 } known ? known : $"type 0x{typeId:x}";
            values[0] = total.Objects;
            values[1] = total.Bytes;
            builder.AddSample([new StackFrameInfo(0, name, name, "heap", "", 0)], values, ProfileLabel.Of("type", name));
        }

        builder.AddComment($"heap: {objects} live objects, {bytes / 1024} KiB, in {byType.Count} types, from a GC heap snapshot (an induced full blocking GC)");
        builder.AddComment("heap: the runtime keeps no allocation stacks; see /debug/pprof/allocs for where allocations come from");
        if (lost > 0)
        {
            builder.AddComment($"heap: {lost} events lost; the snapshot is incomplete");
        }

        return builder;
    }
}
