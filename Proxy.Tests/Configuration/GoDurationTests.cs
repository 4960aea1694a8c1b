using SrsProxy.Configuration;

namespace SrsProxy.Tests.Configuration;

public class GoDurationTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2h", 7_200_000)]
    [InlineData("45", 45_000)]
    public void TryParse_GoSyntax_Parses(string text, double milliseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("10x")]
    [InlineData("-5s")]
    [InlineData("1.2.3s")]
    [InlineData("99999999999999h")]
    public void TryParse_Garbage_Fails(string text) => Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData(30_000, "30s")]
    [InlineData(90_000, "1m30s")]
    [InlineData(250, "250ms")]
    [InlineData(0.5, "500µs")]
    [InlineData(0, "0s")]
    public void Format_CommonValues_LooksLikeGo(double milliseconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData("99999999999999")]
    [InlineData("922337203685.4775807")]
    [InlineData("256204779h")]
    [InlineData("922337203685477.6ms")]
    public void TryParse_PastTimeSpanRange_ReturnsFalse(string text)
    {
        // Found by scripts/fuzz go-duration: a bare number of seconds past TimeSpan's range threw
        // OverflowException from TimeSpan.FromSeconds instead of failing the parse.
        Assert.False(GoDuration.TryParse(text, out _));
    }
}
