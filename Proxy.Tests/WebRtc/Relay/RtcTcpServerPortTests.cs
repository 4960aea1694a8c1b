using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

/// <summary>Which port ICE-TCP listens on when <c>PROXY_WEBRTC_TCP_SERVER</c> is unset.</summary>
public class RtcTcpServerPortTests
{
    [Fact]
    public async Task FixedWebRtcPort_TcpListensOnTheSameNumber()
    {
        var port = FreeOnBoth();
        await using var proxy = await TestProxy.StartAsync(o => o with { WebRtcServer = new ListenAddress(IPAddress.Loopback, port) });
        Assert.Equal(port, proxy.RelayEndPoint.Port);
        Assert.Equal(port, proxy.Services.GetRequiredService<RtcTcpServer>().Listener!.LocalEndPoint.Port);
    }

    /// <summary>
    /// Regression: with any free port asked for (0), TCP bound the number the kernel gave UDP, which any TCP
    /// socket (an outgoing connection, often) may already hold; the proxy then failed to start now and then with
    /// "Address already in use". Here that number is held over TCP on purpose before ICE-TCP starts.
    /// </summary>
    [Fact]
    public async Task AnyFreePort_UdpsNumberHeldOverTcp_TcpTakesAPortOfItsOwn()
    {
        var options = new ProxyOptions { WebRtcServer = new ListenAddress(IPAddress.Loopback, 0) };
        var time = TimeProvider.System;
        await using var relay = new RtcRelay(options, new SrsProxy.Registry.MemoryRegistry(options, time), time, new CapturingLogger<RtcRelay>());
        await relay.StartAsync(default);
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, relay.LocalEndPoint.Port));
        holder.Listen();

        await using var tcp = new RtcTcpServer(options, relay, time, new CapturingLogger<RtcTcpServer>());
        await tcp.StartAsync(default);
        var port = tcp.Listener!.LocalEndPoint.Port;
        Assert.NotEqual(0, port);
        Assert.NotEqual(relay.LocalEndPoint.Port, port);
        Assert.Equal(port, tcp.Port);
    }

    private static int FreeOnBoth()
    {
        for (var attempt = 0; ; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException) when (attempt < 20)
            {
            }
        }
    }
}
