using SrsProxy.HttpStream;

namespace SrsProxy.Tests.HttpStream;

public class HttpStreamProxyTests
{
    [Fact]
    public void RewritePlaylist_SegmentLines_GetTheId_TagsStay()
    {
        var playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.000,\nlivestream-1.ts\n#EXTINF:1.000,\nlivestream-2.ts?token=a\n#EXT-X-ENDLIST\n";
        var rewritten = PlaylistRewriter(playlist);
        Assert.Equal("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.000,\nlivestream-1.ts?spbhid=abc\n#EXTINF:1.000,\nlivestream-2.ts?token=a&spbhid=abc\n#EXT-X-ENDLIST\n", rewritten);
    }

    [Fact]
    public void RewritePlaylist_CrLfAndOtherUris_AreKept()
    {
        var rewritten = PlaylistRewriter("#EXTM3U\r\nsub/variant.m3u8\r\nseg.TS\r\n");
        Assert.Equal("#EXTM3U\r\nsub/variant.m3u8\r\nseg.TS?spbhid=abc\r\n", rewritten);
    }

    [Fact]
    public void HlsIdOf_IsStablePerOrigin_AndOpaque()
    {
        Assert.Equal(HttpStreamProxy.HlsIdOf("a-b-1"), HttpStreamProxy.HlsIdOf("a-b-1"));
        Assert.NotEqual(HttpStreamProxy.HlsIdOf("a-b-1"), HttpStreamProxy.HlsIdOf("a-b-2"));
        Assert.DoesNotContain("a-b", HttpStreamProxy.HlsIdOf("a-b-1"));
    }

    private static string PlaylistRewriter(string playlist) => HttpStreamProxy.RewritePlaylist(playlist, "abc");
}
