using System.Collections.Concurrent;

namespace SrsProxy.Profiling;

/// <summary>
/// Code addresses seen in recent profiles and their method names, for <c>/debug/pprof/symbol</c>: the
/// runtime cannot name an arbitrary address without a trace, so only addresses a profile reported are
/// known. Bounded: when full, it starts over.
/// </summary>
internal sealed class SymbolTable
{
    /// <summary>Enough for every frame of a few profiles of this proxy.</summary>
    internal const int MaxEntries = 65_536;

    private readonly ConcurrentDictionary<ulong, string> _names = new();

    public void Remember(IEnumerable<StackFrameInfo> frames)
    {
        foreach (var frame in frames)
        {
            if (frame.Address == 0)
            {
                continue;
            }

            if (_names.Count >= MaxEntries)
            {
                _names.Clear();
            }

            _names[frame.Address] = frame.Function;
        }
    }

    /// <summary>The method at an address; pprof asks for return addresses minus one, so one past is tried too.</summary>
    public string? Lookup(ulong address) =>
        _names.TryGetValue(address, out var name) || _names.TryGetValue(address + 1, out name) ? name : null;
}
