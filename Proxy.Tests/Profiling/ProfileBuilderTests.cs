using System.IO.Compression;
using SrsProxy.Profiling;
using SrsProxy.Profiling.Pprof;

namespace SrsProxy.Tests.Profiling;

public sealed class ProfileBuilderTests
{
    private static readonly StackFrameInfo Leaf = new(0x1000, "Ns.Type.Leaf", "mod!Ns.Type.Leaf(int32)", "mod", "/src/Type.cs", 12);
    private static readonly StackFrameInfo Caller = new(0x2000, "Ns.Type.Caller", "mod!Ns.Type.Caller()", "mod", "", 0);
    private static readonly StackFrameInfo Root = new(0x3000, "Ns.Other.Root", "mod!Ns.Other.Root()", "mod", "", 0);

    private static ProfileBuilder Cpu() => new([("samples", "count"), ("cpu", "nanoseconds")], "/bin/srs-proxy.dll");

    private static Profile RoundTrip(ProfileBuilder builder)
    {
        using var gzip = new GZipStream(new MemoryStream(builder.ToGzip()), CompressionMode.Decompress);
        return Profile.Parser.ParseFrom(gzip);
    }

    [Fact]
    public void StringTable_IndexZero_IsEmpty_AndStringsAreInternedOnce()
    {
        var builder = Cpu();
        builder.AddSample([Leaf, Caller], [1, 10]);
        builder.AddSample([Leaf, Root], [1, 10]);
        var profile = RoundTrip(builder);

        Assert.Equal("", profile.StringTable[0]);
        Assert.Equal(profile.StringTable.Count, profile.StringTable.Distinct().Count());
        Assert.Equal("samples", profile.StringTable[(int)profile.SampleType[0].Type]);
        Assert.Equal("nanoseconds", profile.StringTable[(int)profile.SampleType[1].Unit]);
    }

    [Fact]
    public void Ids_StartAtOne_AreUnique_AndEveryReferenceResolves()
    {
        var builder = Cpu();
        builder.AddSample([Leaf, Caller, Root], [1, 10]);
        builder.AddSample([Caller, Root], [2, 20]);
        var profile = RoundTrip(builder);

        Assert.Equal(Enumerable.Range(1, profile.Location.Count).Select(i => (ulong)i), profile.Location.Select(l => l.Id));
        Assert.Equal(Enumerable.Range(1, profile.Function.Count).Select(i => (ulong)i), profile.Function.Select(f => f.Id));
        Assert.Equal(3, profile.Location.Count);
        Assert.Equal(3, profile.Function.Count);
        var locations = profile.Location.Select(l => l.Id).ToHashSet();
        var functions = profile.Function.Select(f => f.Id).ToHashSet();
        Assert.All(profile.Sample.SelectMany(s => s.LocationId), id => Assert.Contains(id, locations));
        Assert.All(profile.Location.SelectMany(l => l.Line), line => Assert.Contains(line.FunctionId, functions));
        Assert.All(profile.Location, l => Assert.Equal(1ul, l.MappingId));
        Assert.True(profile.Mapping[0].MemoryLimit > 0x3000);
    }

    [Fact]
    public void Function_KeepsNameSignatureFileAndLine()
    {
        var builder = Cpu();
        builder.AddSample([Leaf], [1, 10]);
        var profile = RoundTrip(builder);

        var function = Assert.Single(profile.Function);
        Assert.Equal("Ns.Type.Leaf", profile.StringTable[(int)function.Name]);
        Assert.Equal("mod!Ns.Type.Leaf(int32)", profile.StringTable[(int)function.SystemName]);
        Assert.Equal("/src/Type.cs", profile.StringTable[(int)function.Filename]);
        Assert.Equal(12, Assert.Single(Assert.Single(profile.Location).Line).Line_);
        Assert.Equal(0x1000ul, profile.Location[0].Address);
    }

    [Fact]
    public void EverySample_HasOneValuePerSampleType()
    {
        var builder = Cpu();
        Assert.Throws<ArgumentException>(() => builder.AddSample([Leaf], [1]));
        Assert.Throws<ArgumentException>(() => builder.AddSample([Leaf], [1, 2, 3]));
        builder.AddSample([Leaf], [1, 2]);
        var profile = RoundTrip(builder);

        Assert.All(profile.Sample, s => Assert.Equal(profile.SampleType.Count, s.Value.Count));
    }

    [Fact]
    public void UnknownLocationId_IsRefused()
    {
        var builder = Cpu();
        Assert.Throws<ArgumentException>(() => builder.AddSample([1ul], [1, 1]));
        Assert.Throws<ArgumentException>(() => builder.AddSample([0ul], [1, 1]));
    }

    [Fact]
    public void SameStackAndLabels_AreSummed_DifferentLabelsAreNot()
    {
        var builder = new ProfileBuilder([("alloc_objects", "count"), ("alloc_space", "bytes")], "srs-proxy");
        builder.AddSample([Leaf, Caller], [1, 100], ProfileLabel.Of("type", "System.Byte[]"));
        builder.AddSample([Leaf, Caller], [2, 200], ProfileLabel.Of("type", "System.Byte[]"));
        builder.AddSample([Leaf, Caller], [1, 50], ProfileLabel.Of("type", "System.String"));
        var profile = RoundTrip(builder);

        Assert.Equal(2, profile.Sample.Count);
        var bytes = profile.Sample.Single(s => profile.StringTable[(int)s.Label[0].Str] == "System.Byte[]");
        Assert.Equal([3L, 300L], bytes.Value);
        Assert.Equal("type", profile.StringTable[(int)bytes.Label[0].Key]);
    }

    [Fact]
    public void FramesWithoutAddress_ShareALocationPerFunctionAndLine()
    {
        var builder = new ProfileBuilder([("inuse_objects", "count"), ("inuse_space", "bytes")], "srs-proxy");
        var type = new StackFrameInfo(0, "System.String", "System.String", "heap", "", 0);
        builder.AddSample([type], [1, 10]);
        builder.AddSample([type with { }], [1, 10], ProfileLabel.Of("x", "y"));
        var profile = RoundTrip(builder);

        Assert.Single(profile.Location);
        Assert.Equal(0ul, profile.Location[0].Address);
    }

    [Fact]
    public void Header_TimeDurationPeriodAndDefaultType()
    {
        var builder = Cpu();
        builder.Time = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        builder.Duration = TimeSpan.FromSeconds(5);
        builder.SetPeriod("cpu", "nanoseconds", 1_000_000);
        builder.SetDefaultSampleType("cpu");
        builder.AddComment("hello");
        var profile = RoundTrip(builder);

        Assert.Equal(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000, profile.TimeNanos);
        Assert.Equal(5_000_000_000, profile.DurationNanos);
        Assert.Equal(1_000_000, profile.Period);
        Assert.Equal("cpu", profile.StringTable[(int)profile.PeriodType.Type]);
        Assert.Equal("cpu", profile.StringTable[(int)profile.DefaultSampleType]);
        Assert.Equal("hello", profile.StringTable[(int)Assert.Single(profile.Comment)]);
        Assert.True(Assert.Single(profile.Mapping).HasFunctions);
    }

    [Fact]
    public void ShortName_DropsTheSignatureOnly()
    {
        Assert.Equal("Ns.Type`1[System.__Canon].Method", StackFrameInfo.ShortName("Ns.Type`1[System.__Canon].Method(!0,int32)"));
        Assert.Equal("Program+<>c.<<Main>$>b__0_0", StackFrameInfo.ShortName("Program+<>c.<<Main>$>b__0_0()"));
        Assert.Equal("NoSignature", StackFrameInfo.ShortName("NoSignature"));
    }
}
