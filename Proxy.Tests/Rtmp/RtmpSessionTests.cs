using SrsProxy.Rtmp;

namespace SrsProxy.Tests.Rtmp;

public class RtmpSessionTests
{
    [Theory]
    [InlineData("rtmp://localhost/live", "live", "livestream", "__defaultVhost__/live/livestream")]
    [InlineData("rtmp://127.0.0.1:1935/live", "live", "livestream?key=secret", "__defaultVhost__/live/livestream")]
    [InlineData("rtmp://show.example.com/live", "live", "s", "show.example.com/live/s")]
    [InlineData("rtmp://127.0.0.1/live?vhost=v.example.com", "live?vhost=v.example.com", "s", "v.example.com/live/s")]
    [InlineData("rtmp://127.0.0.1/live", "live", "s?vhost=w.example.com", "w.example.com/live/s")]
    public void StreamOf_TcUrlAppAndName_FollowSrsRules(string tcUrl, string app, string name, string key)
    {
        var connect = new Dictionary<string, object?> { ["tcUrl"] = tcUrl, ["app"] = app };
        Assert.Equal(key, RtmpSession.StreamOf(connect, name)?.Key);
    }
}
