namespace SrsProxy.Profiling;

/// <summary>The profiles that need an EventPipe session; at most one of each runs at a time.</summary>
internal enum ProfileKind
{
    Cpu,
    Allocations,
    Heap,
    Threads,
    Trace,
}
