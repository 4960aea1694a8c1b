using Microsoft.Diagnostics.Symbols;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace SrsProxy.Profiling;

/// <summary>
/// Turns the call stacks of a decoded trace into <see cref="StackFrameInfo"/> lists, leaf first, each stack
/// and code address resolved once. Source file and line come from the portable PDBs that sit next to the
/// proxy's own assemblies; framework frames get none (their PDBs are not on the machine).
/// </summary>
internal sealed class TraceStacks : IDisposable
{
    private readonly TraceLog _log;
    private readonly SymbolReader _symbols;
    private readonly Dictionary<CallStackIndex, StackFrameInfo[]> _stacks = [];
    private readonly Dictionary<CodeAddressIndex, StackFrameInfo> _frames = [];

    public TraceStacks(TraceLog log)
    {
        _log = log;

        // Only the application's own folder: never a symbol server, never the network.
        var folder = AppContext.BaseDirectory;
        _symbols = new SymbolReader(TextWriter.Null, folder) { SecurityCheck = _ => true };
        foreach (var module in log.ModuleFiles)
        {
            var file = module.FilePath;
            if (file.StartsWith(folder, StringComparison.Ordinal) && File.Exists(Path.ChangeExtension(file, ".pdb")))
            {
                log.CodeAddresses.LookupSymbolsForModule(_symbols, module);
            }
        }
    }

    /// <summary>Every frame resolved so far.</summary>
    public IEnumerable<StackFrameInfo> ResolvedFrames => _frames.Values;

    public IReadOnlyList<StackFrameInfo> Frames(TraceCallStack? stack)
    {
        if (stack is null)
        {
            return [];
        }

        if (_stacks.TryGetValue(stack.CallStackIndex, out var known))
        {
            return known;
        }

        var frames = new List<StackFrameInfo>();
        for (var frame = stack; frame is not null; frame = frame.Caller)
        {
            frames.Add(Frame(frame.CodeAddress));
        }

        var result = frames.ToArray();
        _stacks.Add(stack.CallStackIndex, result);
        return result;
    }

    private StackFrameInfo Frame(TraceCodeAddress address)
    {
        if (_frames.TryGetValue(address.CodeAddressIndex, out var known))
        {
            return known;
        }

        var module = string.IsNullOrEmpty(address.ModuleName) ? "?" : address.ModuleName;
        var full = address.FullMethodName;
        StackFrameInfo frame;
        if (string.IsNullOrEmpty(full))
        {
            frame = new StackFrameInfo(address.Address, StackFrameInfo.Unresolved, $"{module}!0x{address.Address:x}", module, "", 0);
        }
        else
        {
            var source = _log.CodeAddresses.GetSourceLine(_symbols, address.CodeAddressIndex);
            var file = source?.SourceFile?.BuildTimeFilePath ?? "";
            frame = new StackFrameInfo(address.Address, StackFrameInfo.ShortName(full), $"{module}!{full}", module, file, file.Length > 0 ? source!.LineNumber : 0);
        }

        _frames.Add(address.CodeAddressIndex, frame);
        return frame;
    }

    public void Dispose() => _symbols.Dispose();
}
