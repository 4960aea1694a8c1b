using SrsProxy.Streams;

namespace SrsProxy.Tests.Streams;

public class StreamUrlTests
{
    [Theory]
    [InlineData(null, "__defaultVhost__")]
    [InlineData("localhost", "__defaultVhost__")]
    [InlineData("localhost:1985", "__defaultVhost__")]
    [InlineData("192.168.3.187:1985", "__defaultVhost__")]
    [InlineData("[::1]:1985", "__defaultVhost__")]
    [InlineData("live.example.com", "live.example.com")]
    [InlineData("Live.Example.com:8080", "live.example.com")]
    public void VhostOf_FollowsSrsRules(string? host, string expected) => Assert.Equal(expected, StreamUrl.VhostOf(host));

    [Fact]
    public void TryCreate_QueryWins_OverPath()
    {
        Assert.True(StreamUrl.TryCreate("127.0.0.1:1985", "/rtc/v1/whep/", "live", "livestream", null, out var url));
        Assert.Equal("__defaultVhost__/live/livestream", url.Key);
    }

    [Theory]
    [InlineData("/live/livestream.flv", "__defaultVhost__/live/livestream")]
    [InlineData("/live/livestream.m3u8", "__defaultVhost__/live/livestream")]
    [InlineData("live/livestream", "__defaultVhost__/live/livestream")]
    [InlineData("/live/sub/stream.ts", "__defaultVhost__/live/sub/stream")]
    public void TryCreate_PathForm_DropsExtension(string path, string key)
    {
        Assert.True(StreamUrl.TryCreate("localhost", path, null, null, null, out var url));
        Assert.Equal(key, url.Key);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/livestream")]
    [InlineData("/../etc/passwd")]
    [InlineData("/live/bad name")]
    public void TryCreate_NoAppOrStream_Fails(string path) => Assert.False(StreamUrl.TryCreate("localhost", path, null, null, null, out _));

    [Fact]
    public void TryCreate_VhostQuery_Wins()
    {
        Assert.True(StreamUrl.TryCreate("127.0.0.1", "/", "live", "s", "vhost.example.com", out var url));
        Assert.Equal("vhost.example.com/live/s", url.Key);
    }

    [Theory]
    [InlineData("webrtc://localhost/live/livestream", "__defaultVhost__/live/livestream")]
    [InlineData("webrtc://192.168.3.187/live/livestream", "__defaultVhost__/live/livestream")]
    [InlineData("webrtc://cdn.example.com:1985/live/show", "cdn.example.com/live/show")]
    [InlineData("rtmp://localhost/live/livestream?vhost=v.example.com", "v.example.com/live/livestream")]
    public void TryParseUrl_StreamUrls_Parse(string text, string key)
    {
        Assert.True(StreamUrl.TryParseUrl(text, out var url));
        Assert.Equal(key, url.Key);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not a url")]
    [InlineData("webrtc://localhost/")]
    public void TryParseUrl_Garbage_Fails(string? text) => Assert.False(StreamUrl.TryParseUrl(text, out _));

    [Fact]
    public void TryCreate_DoubleSlashBeforeStream_SameStreamAsOneSlash()
    {
        // Found by scripts/fuzz stream-url: "/live//livestream" gave app "live/", another stream than
        // "/live/livestream" and than its own parts given back as ?app=live/&stream=livestream.
        Assert.True(StreamUrl.TryCreate("localhost", "/live//livestream.flv", null, null, null, out var doubled));
        Assert.True(StreamUrl.TryCreate("localhost", "/live/livestream.flv", null, null, null, out var single));
        Assert.Equal(single, doubled);
        Assert.True(StreamUrl.TryCreate(null, "/", doubled.App, doubled.Stream, doubled.Vhost, out var fromParts));
        Assert.Equal(doubled, fromParts);
    }
}
