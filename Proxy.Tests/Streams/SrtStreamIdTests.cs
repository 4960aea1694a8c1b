using SrsProxy.Streams;

namespace SrsProxy.Tests.Streams;

public class SrtStreamIdTests
{
    [Theory]
    [InlineData("#!::r=live/livestream,m=publish", "__defaultVhost__/live/livestream", true)]
    [InlineData("#!::h=show.example.com,r=live/s,m=request", "show.example.com/live/s", false)]
    [InlineData("#!::r=livestream", "__defaultVhost__/live/livestream", false)]
    [InlineData("live/livestream", "__defaultVhost__/live/livestream", false)]
    [InlineData("live/livestream?vhost=v.example.com", "v.example.com/live/livestream", false)]
    public void SrtStreamId_Forms_Parse(string streamId, string key, bool publish)
    {
        Assert.True(SrtStreamId.TryParse(streamId, out var url, out var isPublish));
        Assert.Equal(key, url.Key);
        Assert.Equal(publish, isPublish);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("#!::m=publish")]
    [InlineData("#!::r=")]
    public void SrtStreamId_NoResource_Fails(string? streamId) => Assert.False(SrtStreamId.TryParse(streamId, out _, out _));
}
