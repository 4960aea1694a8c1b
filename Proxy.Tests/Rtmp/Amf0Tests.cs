using SrsProxy.Rtmp;

namespace SrsProxy.Tests.Rtmp;

public class Amf0Tests
{
    [Fact]
    public void Encode_ThenDecode_RoundTripsACommand()
    {
        var bytes = Amf0.Encode("connect", 1.0, new Dictionary<string, object?>
        {
            ["app"] = "live",
            ["tcUrl"] = "rtmp://localhost/live",
            ["fpad"] = false,
            ["audioCodecs"] = 3575.0,
            ["nested"] = new Dictionary<string, object?> { ["x"] = null },
        }, null, new List<object?> { 1.0, "two" });

        Assert.True(Amf0.TryDecodeAll(bytes, out var values));
        Assert.Equal("connect", values[0]);
        Assert.Equal(1.0, values[1]);
        var command = Assert.IsType<Dictionary<string, object?>>(values[2]);
        Assert.Equal("live", command["app"]);
        Assert.Equal(false, command["fpad"]);
        Assert.Null(Assert.IsType<Dictionary<string, object?>>(command["nested"])["x"]);
        Assert.Null(values[3]);
        Assert.Equal(new List<object?> { 1.0, "two" }, values[4]);
    }

    [Fact]
    public void TryDecodeAll_EcmaArray_ReadsLikeAnObject()
    {
        // ECMA array with a wrong count hint (0) and two properties, as encoders write onMetaData.
        byte[] bytes = [0x08, 0, 0, 0, 0, 0, 1, (byte)'w', 0x00, 0x40, 0x74, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'h', 0x05, 0, 0, 0x09];
        Assert.True(Amf0.TryDecodeAll(bytes, out var values));
        var properties = Assert.IsType<Dictionary<string, object?>>(Assert.Single(values));
        Assert.Equal(320.0, properties["w"]);
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 1, 2, 3 })]
    [InlineData(new byte[] { 0x02, 0, 10, (byte)'a' })]
    [InlineData(new byte[] { 0x03, 0, 1, (byte)'k' })]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData(new byte[] { 0x42 })]
    [InlineData(new byte[] { 0x01 })]
    public void TryDecodeAll_Malformed_Fails(byte[] bytes) => Assert.False(Amf0.TryDecodeAll(bytes, out _));

    [Fact]
    public void TryDecodeAll_DeepNesting_Fails()
    {
        var bytes = new List<byte>();
        for (var i = 0; i < 50; i++)
        {
            bytes.AddRange([0x03, 0, 1, (byte)'a']);
        }

        bytes.Add(0x05);
        Assert.False(Amf0.TryDecodeAll(bytes.ToArray(), out _));
    }

    [Fact]
    public void TryDecodeAll_RandomBytes_NeverThrows()
    {
        var random = new Random(3);
        var buffer = new byte[128];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            buffer[0] = (byte)(buffer[0] % 13);
            _ = Amf0.TryDecodeAll(buffer.AsSpan(0, random.Next(buffer.Length)), out _);
        }
    }
}
