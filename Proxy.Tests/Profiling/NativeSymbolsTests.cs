using System.Runtime.InteropServices;
using SrsProxy.Profiling.Perf;

namespace SrsProxy.Tests.Profiling;

/// <summary>Naming native and kernel code addresses for kernel-sampled CPU profiles.</summary>
public sealed class NativeSymbolsTests
{
    [Fact]
    public void NativeCode_LibcExport_IsNamedWithItsModule_AnywhereInsideIt()
    {
        var getpid = (ulong)NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "getpid");
        var code = NativeCode.ReadSelf();

        var (function, module) = code.Lookup(getpid) ?? throw new Xunit.Sdk.XunitException("getpid's address is in no executable mapping");
        Assert.Equal("getpid", function);
        Assert.Equal("libc.so.6", module);
        Assert.Equal(function, code.Lookup(getpid + 1)?.Function);
    }

    [Fact]
    public void NativeCode_AddressOutsideEveryMapping_IsNull() => Assert.Null(NativeCode.ReadSelf().Lookup(0x1000));

    [Fact]
    public void ElfSymbols_NotAnElfFile_IsEmpty()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not an ELF file at all, but long enough to hold a header of sixty-four bytes");
            Assert.Null(ElfSymbols.Read(path).FunctionAtFileOffset(0));
            Assert.Null(ElfSymbols.Read(path + ".missing").FunctionAtFileOffset(0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void KernelSymbols_TextSymbolsOnly_ZeroAddressesHidden_ModulesStripped()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path,
            [
                "0000000000000000 T hidden_by_kptr_restrict",
                "ffffffff81000000 T _stext",
                "ffffffff81000100 t helper",
                "ffffffff81000200 D some_data",
                "ffffffffc0001000 t module_function\t[mymodule]",
                "ffffffffc0000000 t loaded_earlier\t[othermodule]", // modules need not come in address order
                "garbage line",
            ]);
            var kernel = KernelSymbols.Read(path);
            Assert.Equal("helper", kernel.Lookup(0xffffffff81000100)); // its first byte
            Assert.Equal("_stext", kernel.Lookup(0xffffffff810000ff)); // the byte before it
            Assert.Equal("helper", kernel.Lookup(0xffffffff81000150));
            Assert.Equal("helper", kernel.Lookup(0xffffffff81000250));
            Assert.Equal("module_function", kernel.Lookup(0xffffffffc0001010));
            Assert.Equal("loaded_earlier", kernel.Lookup(0xffffffffc0000010));
            Assert.Equal("module_function", kernel.Lookup(ulong.MaxValue)); // the highest address there is
            Assert.Equal(KernelSymbols.Module, kernel.Lookup(0x1000)); // not hidden_by_kptr_restrict, whose address is 0
        }
        finally
        {
            File.Delete(path);
        }
    }
}
