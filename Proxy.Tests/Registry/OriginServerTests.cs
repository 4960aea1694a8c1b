using SrsProxy.Registry;

namespace SrsProxy.Tests.Registry;

public class OriginServerTests
{
    [Fact]
    public void HostFor_WildcardEndpoint_UsesRegisteredIp()
    {
        var origin = new OriginServer
        {
            Id = "a", Ip = "127.0.0.5", Server = "s", Service = "v", Pid = "1",
            Api = [new OriginEndpoint("", "0.0.0.0", 1985)],
        };
        Assert.Equal("127.0.0.5", origin.HostFor(origin.Api[0]));
        Assert.Equal("127.0.0.9", origin.HostFor(new OriginEndpoint("", "127.0.0.9", 1)));
        Assert.Equal("[::1]", origin.HostFor(new OriginEndpoint("", "::1", 1)));
    }
}
