using SrsProxy.Registry;

namespace SrsProxy.Tests.Registry;

public class OriginEndpointTests
{
    [Theory]
    [InlineData("19351", "", "", 19351)]
    [InlineData("udp://0.0.0.0:8001", "udp", "0.0.0.0", 8001)]
    [InlineData("tcp://0.0.0.0:8001", "tcp", "0.0.0.0", 8001)]
    [InlineData("127.0.0.1:1985", "", "127.0.0.1", 1985)]
    [InlineData("[::]:1935", "", "::", 1935)]
    [InlineData("udp://[::1]:8000", "udp", "::1", 8000)]
    [InlineData("UDP://origin.local:8000", "udp", "origin.local", 8000)]
    public void TryParse_Forms_Parse(string text, string protocol, string host, int port)
    {
        Assert.True(OriginEndpoint.TryParse(text, out var endpoint));
        Assert.Equal(new OriginEndpoint(protocol, host, port), endpoint);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData("udp://")]
    [InlineData("udp://0.0.0.0")]
    [InlineData("ftp://0.0.0.0:21")]
    [InlineData("bad host:80")]
    [InlineData(":80")]
    public void TryParse_Garbage_Fails(string? text) => Assert.False(OriginEndpoint.TryParse(text, out _));

    [Theory]
    [InlineData("[fd00::5]::935")]
    [InlineData("http://[fd00::5]::8080")]
    [InlineData("[[::1]]:1985")]
    public void TryParse_BracketsLeftInHost_ReturnsFalse(string text)
    {
        // Found by scripts/fuzz registration: "[fd00::5]::935" was taken with host "[fd00::5]:" (IPAddress.TryParse
        // accepts it), and the origin URL built from it threw UriFormatException.
        Assert.False(OriginEndpoint.TryParse(text, out _));
    }
}
