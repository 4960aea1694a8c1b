using System.Net;
using SrsProxy.Udp;

namespace SrsProxy.Tests.Udp;

public class AddressKeyTests
{
    private static AddressKey Key(string address, int port) => AddressKey.From(new IPEndPoint(IPAddress.Parse(address), port).Serialize());

    [Fact]
    public void From_SameAddress_IsEqual()
    {
        Assert.Equal(Key("127.0.0.1", 5000), Key("127.0.0.1", 5000));
        Assert.Equal(Key("::1", 5000), Key("::1", 5000));
        Assert.Equal(Key("::ffff:127.0.0.1", 5000).GetHashCode(), Key("::ffff:127.0.0.1", 5000).GetHashCode());
    }

    [Theory]
    [InlineData("127.0.0.1", 5000, "127.0.0.1", 5001)]
    [InlineData("127.0.0.1", 5000, "127.0.0.2", 5000)]
    [InlineData("::1", 5000, "::2", 5000)]
    [InlineData("::ffff:127.0.0.1", 5000, "::ffff:127.0.0.2", 5000)]
    [InlineData("2001:db8::1", 5000, "2001:db9::1", 5000)]
    public void From_DifferentAddress_Differs(string a, int portA, string b, int portB) => Assert.NotEqual(Key(a, portA), Key(b, portB));
}
