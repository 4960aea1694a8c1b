using System.Diagnostics.CodeAnalysis;

namespace SrsProxy.Fuzz;

/// <summary>A property that must hold for every input did not: the fuzzer reports it as a crash.</summary>
internal sealed class InvariantViolation(string message) : Exception(message);

internal static class Check
{
    public static void That([DoesNotReturnIf(false)] bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvariantViolation(invariant);
        }
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new InvariantViolation($"{what}: expected <{expected}>, got <{actual}>");
        }
    }
}
