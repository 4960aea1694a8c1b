using System.Net;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.WebRtc;

/// <summary>
/// The tests reach nothing but what they start. Headless Chromium offers ICE candidates on every interface it
/// finds, and the proxy then sends media to the address the player's checks came from: outside a network
/// namespace, that is the machine's real interface. scripts/test runs the tests in a namespace of their own
/// (scripts/netns-run: loopback and a veth pair on 198.18.0.0/15). These tests check what actually happened,
/// wherever they run: run outside such a namespace, on a machine with other interfaces, they fail.
/// </summary>
[Collection(RealPeersCollection.Name)]
public class TestNetworkTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.255.255.254", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.3", true)]
    [InlineData("198.18.0.1", true)]
    [InlineData("198.19.255.254", true)]
    [InlineData("198.17.255.255", false)]
    [InlineData("198.20.0.1", false)]
    [InlineData("192.0.2.2", false)]
    [InlineData("10.0.0.5", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("fd00::2", false)]
    [InlineData("fe80::1", false)]
    [InlineData("::ffff:192.168.1.2", false)]
    public void TestNetwork_IsLoopbackAndTheBenchmarkRange(string address, bool inside) =>
        Assert.Equal(inside, TestNetwork.Contains(IPAddress.Parse(address)));

    [Theory]
    [InlineData("198.18.0.2:50000", true)]
    [InlineData("[::1]:50000", true)]
    [InlineData("192.0.2.2:50000", false)]
    [InlineData("not an address", false)]
    public void BoundPlayer_InsideOnlyWhenItsAddressIs(string text, bool inside) =>
        Assert.Equal(inside, new BoundPlayer("s", text).Inside);

    [Fact]
    public async Task ChromiumThroughProxy_ProxyBindsOnlyPlayerAddressesInsideTheTestNetwork()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var origin = await OriginPeer.StartAsync(proxy.RegisterUrl, "live/livestream");
        await proxy.WaitForOriginsAsync(1);

        var player = await ChromiumPlayer.RunAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream"), "whep", 20, "--hold-ms", "500");
        Assert.True(player.Ok, player.ToString());
        Assert.True(player.FramesDecoded > 0, player.ToString());

        var bound = proxy.Players.Bound;
        output.WriteLine($"network namespace: {Environment.GetEnvironmentVariable("NETNS_RUN_ACTIVE") ?? "none"}; player addresses bound: {string.Join(", ", bound)}");
        output.WriteLine("Chromium offered: " + string.Join(" | ", player.Json.GetProperty("offerCandidates").EnumerateArray().Select(c => c.GetString())));

        // Chromium played, so the relay bound its address: an empty list means the relay's log line moved and
        // the check below (and the one on every test) sees nothing.
        Assert.NotEmpty(bound);
        var outside = bound.Where(p => !p.Inside).ToList();
        Assert.True(outside.Count == 0, PlayersInsideTestNetworkAttribute.OutsideMessage(outside));
    }
}
