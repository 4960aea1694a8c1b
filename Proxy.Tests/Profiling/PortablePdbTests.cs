using System.Reflection;
using System.Runtime.CompilerServices;
using SrsProxy.Profiling.Perf;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// The CPU profile's source lines come from the portable PDB beside an assembly: this test assembly's own, read
/// for a method of this file whose line the compiler tells (<c>CallerLineNumber</c>).
/// </summary>
public sealed class PortablePdbTests
{
    [Fact]
    public void Line_OfAMethodsFirstInstruction_IsItsFirstLineInThisFile()
    {
        var assembly = typeof(PortablePdbTests).Assembly.Location;
        using var pdb = PortablePdb.Open(Path.ChangeExtension(assembly, ".pdb"));
        Assert.NotNull(pdb);

        var method = typeof(PortablePdbTests).GetMethod(nameof(Marked), BindingFlags.NonPublic | BindingFlags.Static)!;
        var (file, line) = pdb.Line((uint)method.MetadataToken, 0);

        Assert.EndsWith(Path.Combine("Profiling", "PortablePdbTests.cs"), file);

        // The method's opening brace (a debug build's first sequence point) or its statement.
        Assert.InRange(line, Marked() - 1, Marked());

        // An offset past the first statement still maps into the method, never past its end.
        Assert.InRange(pdb.Line((uint)method.MetadataToken, 1000).Line, Marked() - 1, Marked() + 1);
    }

    [Fact]
    public void Line_NoSuchMethod_OrNotAMethodToken_IsNone()
    {
        using var pdb = PortablePdb.Open(Path.ChangeExtension(typeof(PortablePdbTests).Assembly.Location, ".pdb"))!;
        Assert.Equal(("", 0), pdb.Line(0x06FF_FFFF, 0));
        Assert.Equal(("", 0), pdb.Line(0x0600_0000, 0));
        Assert.Equal(("", 0), pdb.Line((uint)typeof(PortablePdbTests).MetadataToken, 0));
    }

    [Fact]
    public void Open_MissingOrNotAPdb_IsNull()
    {
        Assert.Null(PortablePdb.Open("/nonexistent/some.pdb"));
        Assert.Null(PortablePdb.Open(typeof(PortablePdbTests).Assembly.Location));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Marked()
    {
        return Here();
    }

    private static int Here([CallerLineNumber] int line = 0) => line;
}
