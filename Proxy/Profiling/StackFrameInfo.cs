namespace SrsProxy.Profiling;

/// <summary>
/// One resolved frame of a managed stack: the native code address the runtime reported, the method's
/// readable name (<c>Namespace.Type.Method</c>), its full signature, its module, and the source file and
/// line when the module's portable PDB was at hand (else empty and 0).
/// </summary>
internal sealed record StackFrameInfo(ulong Address, string Function, string SystemName, string Module, string File, int Line)
{
    /// <summary>The name of code the runtime did not describe: a stub, or a method unloaded before the rundown.</summary>
    public const string Unresolved = "[unresolved code]";

    public bool IsUnresolved => Function == Unresolved;

    /// <summary>The readable name of a method from TraceEvent's full name: the signature removed.</summary>
    public static string ShortName(string fullMethodName)
    {
        var paren = fullMethodName.IndexOf('(', StringComparison.Ordinal);
        return paren > 0 ? fullMethodName[..paren] : fullMethodName;
    }
}
