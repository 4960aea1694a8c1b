using SrsProxy.Tcp;

namespace SrsProxy.Tests.Tcp;

public class Rfc4571Tests
{
    [Theory]
    [InlineData(new byte[0], (int)FrameStatus.Incomplete, 0)]
    [InlineData(new byte[] { 0x00 }, (int)FrameStatus.Incomplete, 0)]
    [InlineData(new byte[] { 0x00, 0x03, 1, 2 }, (int)FrameStatus.Incomplete, 3)]
    [InlineData(new byte[] { 0x00, 0x03, 1, 2, 3 }, (int)FrameStatus.Complete, 3)]
    [InlineData(new byte[] { 0x00, 0x03, 1, 2, 3, 0x00 }, (int)FrameStatus.Complete, 3)]
    [InlineData(new byte[] { 0x00, 0x00, 1 }, (int)FrameStatus.Empty, 0)]
    [InlineData(new byte[] { 0x10, 0x01 }, (int)FrameStatus.TooLong, 4097)]
    [InlineData(new byte[] { 0xFF, 0xFF }, (int)FrameStatus.TooLong, 65535)]
    [InlineData(new byte[] { 0x10, 0x00 }, (int)FrameStatus.Incomplete, 4096)]
    public void TryReadFrame_Header_TellsWhatIsThere(byte[] bytes, int expected, int length)
    {
        Assert.Equal((FrameStatus)expected, Rfc4571.TryReadFrame(bytes, 4096, out var payload));
        Assert.Equal(length, payload);
    }

    [Fact]
    public void TryReadFrame_EveryPrefixOfRandomBytes_NeverThrowsNorOverreads()
    {
        var random = new Random(14);
        var bytes = new byte[64];
        for (var i = 0; i < 10_000; i++)
        {
            random.NextBytes(bytes);
            var cut = bytes.AsSpan(0, random.Next(bytes.Length + 1));
            var status = Rfc4571.TryReadFrame(cut, 32, out var length);
            if (status == FrameStatus.Complete)
            {
                Assert.InRange(length, 1, Math.Min(32, cut.Length - 2));
            }
        }
    }

    [Fact]
    public void WriteHeader_ThenRead_RoundTrips()
    {
        var frame = new byte[2 + 1200];
        Rfc4571.WriteHeader(frame, 1200);
        Assert.Equal(FrameStatus.Complete, Rfc4571.TryReadFrame(frame, 4096, out var length));
        Assert.Equal(1200, length);
    }
}
