using SrsProxy.SystemApi;

namespace SrsProxy.Tests.SystemApi;

/// <summary>The token comparison behind the system API's and gRPC's Bearer check.</summary>
public sealed class BearerAuthTests
{
    [Theory]
    [InlineData("s3cret-token", true)]
    [InlineData("S3cret-token", false)]
    [InlineData("s3cret-tokeN", false)]
    [InlineData("s3cret-toke", false)]
    [InlineData("s3cret-token-", false)]
    [InlineData("s3cret-token\0", false)]
    [InlineData("", false)]
    [InlineData("s3cret-tokén", false)]
    public void SameToken_OnlyTheWholeTokenMatches(string given, bool same)
    {
        Assert.Equal(same, BearerAuth.SameToken(given, "s3cret-token"));
    }

    [Fact]
    public void SameToken_NonAsciiTokens()
    {
        Assert.True(BearerAuth.SameToken("jeton-été-✓", "jeton-été-✓"));
        Assert.False(BearerAuth.SameToken("jeton-ete-✓", "jeton-été-✓"));
    }
}
