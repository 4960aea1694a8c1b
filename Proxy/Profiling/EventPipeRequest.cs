using Microsoft.Diagnostics.NETCore.Client;

namespace SrsProxy.Profiling;

/// <summary>
/// What one EventPipe session on this process records: its providers, whether the runtime walks a stack
/// for each event, whether it ends with a method rundown (needed to name JIT'd code), the runtime's buffer,
/// and a cap on the recorded bytes.
/// </summary>
internal sealed record EventPipeRequest(
    string Name,
    IReadOnlyList<EventPipeProvider> Providers,
    bool Rundown,
    bool Stacks,
    int BufferMegabytes,
    long MaxBytes);
