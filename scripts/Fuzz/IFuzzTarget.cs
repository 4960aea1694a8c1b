namespace SrsProxy.Fuzz;

/// <summary>
/// One parser of untrusted input under the fuzzer. <see cref="Run"/> feeds it one input and throws only when
/// something that must hold does not: an exception other than the parser's documented ones escapes, or an
/// <see cref="InvariantViolation"/> (out-of-bounds result, failed round trip, unbounded output).
/// </summary>
internal interface IFuzzTarget
{
    /// <summary>The name given on the command line, and the folder of its seed corpus.</summary>
    string Name { get; }

    /// <summary>One line for <c>--list</c>: the parser and what is checked.</summary>
    string Description { get; }

    void Run(byte[] input);
}
