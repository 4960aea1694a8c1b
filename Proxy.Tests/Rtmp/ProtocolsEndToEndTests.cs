using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using SrsProxy.Rtmp;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Rtmp;

/// <summary>
/// RTMP, HLS, HTTP-FLV and SRT through the proxy with real peers no one here wrote: ffmpeg and ffprobe as
/// publisher and players, nginx with libnginx-mod-rtmp as the RTMP/HLS origin, ffmpeg's HTTP server mode as
/// an HTTP-FLV origin, and srt-live-transmit as the SRT origin.
/// </summary>
[Collection(RealPeersCollection.Name)]
public class ProtocolsEndToEndTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(40);

    private static string[] TestSource(int seconds) =>
    [
        "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-c:a", "aac",
    ];

    [Fact]
    public async Task Rtmp_FfmpegPublishesThroughProxy_FfprobeAndHlsPlayThroughProxy()
    {
        await using var proxy = await TestProxy.StartAsync();
        await using var nginx = await NginxRtmpOrigin.StartAsync();
        await proxy.RegisterAsync("nginx", rtmp: nginx.RtmpPort, http: nginx.HttpPort);
        var rtmpUrl = $"rtmp://127.0.0.1:{proxy.Rtmp.LocalEndPoint.Port}/live/livestream";

        await using var publisher = ExternalTools.StartBackground("ffmpeg", [.. TestSource(60), "-f", "flv", rtmpUrl]);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(nginx.HlsDirectory, "livestream.m3u8")), "nginx received the publish and wrote HLS", 20_000);

        // The RTMP player reads the stream back through the proxy.
        var probe = await ExternalTools.RunAsync("ffprobe", ToolTimeout, "-v", "error", "-show_entries", "stream=codec_name,width", "-of", "compact", rtmpUrl);
        Assert.True(probe.ExitCode == 0, probe.Stderr);
        Assert.Contains("codec_name=h264|width=320", probe.Stdout);
        Assert.Contains("codec_name=aac", probe.Stdout);

        // HLS through the proxy's HTTP server: the playlist's segments carry the origin's id and play.
        var playlistUrl = new Uri(proxy.HttpServer, "live/livestream.m3u8");
        var playlist = await proxy.Http.GetStringAsync(playlistUrl);
        Assert.Contains(".ts?spbhid=", playlist);
        var frames = await ExternalTools.RunAsync("ffmpeg", ToolTimeout, "-v", "error", "-i", playlistUrl.ToString(), "-t", "2", "-map", "0:v", "-f", "framecrc", "-");
        Assert.True(frames.ExitCode == 0, frames.Stderr);
        Assert.True(frames.Stdout.Split('\n').Count(l => l.Length > 0 && !l.StartsWith('#')) >= 25, frames.Stdout);
        Assert.False(publisher.HasExited, await publisher.StderrAsync());
    }

    [Fact]
    public async Task HttpFlv_FromFfmpegHttpOrigin_PlaysThroughProxy()
    {
        await using var proxy = await TestProxy.StartAsync();
        var port = ExternalTools.FreeTcpPort();
        await using var origin = ExternalTools.StartBackground("ffmpeg",
            [.. TestSource(60), "-f", "flv", "-listen", "1", $"http://127.0.0.1:{port}/live/flvtest.flv"]);
        await proxy.RegisterAsync("flv", http: port);
        await Wait.UntilAsync(() => ExternalTools.IsBound(ProtocolType.Tcp, port), $"ffmpeg listening on tcp {port}");

        var probe = await ExternalTools.RunAsync("ffprobe", ToolTimeout, "-v", "error", "-show_entries", "stream=codec_name,width", "-of", "compact",
            new Uri(proxy.HttpServer, "live/flvtest.flv").ToString());
        Assert.True(probe.ExitCode == 0, probe.Stderr + await origin.StderrAsync());
        Assert.Contains("codec_name=h264|width=320", probe.Stdout);
    }

    [Fact]
    public async Task Srt_PublishThroughProxy_ReachesSrtOrigin()
    {
        await using var proxy = await TestProxy.StartAsync();
        var srtPort = ExternalTools.FreeUdpPort();
        using var output = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        output.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using var origin = ExternalTools.StartBackground("srt-live-transmit",
            $"srt://127.0.0.1:{srtPort}?mode=listener", $"udp://127.0.0.1:{((IPEndPoint)output.LocalEndPoint!).Port}");
        await proxy.RegisterAsync("srt", srt: srtPort);
        await Wait.UntilAsync(() => ExternalTools.IsBound(ProtocolType.Udp, srtPort), $"srt-live-transmit bound to udp {srtPort}");

        var received = new List<byte>();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[2048];
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                while (received.Count < 200_000)
                {
                    var n = await output.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                    lock (received)
                    {
                        received.AddRange(buffer.AsSpan(0, n).ToArray());
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var publish = await ExternalTools.RunAsync("ffmpeg", ToolTimeout, [.. TestSource(4), "-f", "mpegts",
            $"srt://127.0.0.1:{proxy.Srt.LocalEndPoint.Port}?streamid=#!::r=live/livestream,m=publish"]);
        Assert.True(publish.ExitCode == 0, publish.Stderr);
        await Wait.UntilAsync(() => { lock (received) { return received.Count > 50_000; } }, "MPEG-TS bytes at the SRT origin's output", 20_000);
        lock (received)
        {
            Assert.Equal(0x47, received[0]);
        }

        Assert.Equal("__defaultVhost__/live/livestream", (await proxy.GetJsonAsync("api/v1/streams")).GetProperty("streams")[0].GetProperty("stream").GetString());
    }

    [Fact]
    public async Task Rtmp_NoOrigin_PublisherFailsFast()
    {
        await using var proxy = await TestProxy.StartAsync();
        var publish = await ExternalTools.RunAsync("ffmpeg", ToolTimeout, [.. TestSource(10), "-f", "flv", $"rtmp://127.0.0.1:{proxy.Rtmp.LocalEndPoint.Port}/live/nobody"]);
        Assert.NotEqual(0, publish.ExitCode);
        Assert.NotEqual(-1, publish.ExitCode);
    }

    [Fact]
    public async Task Rtmp_MalformedAndSlowClients_AreDropped_ListenerKeepsServing()
    {
        // Short phase limits so the slow client is dropped within the test; the defaults are 10 s and 30 s. Room
        // for three clients only, as many as the bad ones: good ones get in again only when every bad one is
        // released.
        const int maxConnections = 3;
        await using var proxy = await TestProxy.StartAsync(builder: b =>
            b.Services.AddSingleton(new RtmpLimits(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), maxConnections)));
        var endPoint = proxy.Rtmp.LocalEndPoint;

        async Task<bool> ClosedByProxyAsync(byte[] send)
        {
            using var client = new TcpClient();
            await client.ConnectAsync(endPoint);
            var stream = client.GetStream();
            await stream.WriteAsync(send);
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (await stream.ReadAsync(buffer, timeout.Token) > 0)
                {
                }

                return true;
            }
            catch (IOException)
            {
                return true;
            }
        }

        // Not RTMP at all; a slow client that never finishes the handshake; a handshake then a 10 MB command.
        Assert.True(await ClosedByProxyAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray()));
        Assert.True(await ClosedByProxyAsync([3, 0, 0]));
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(endPoint);
            var stream = client.GetStream();
            await RtmpHandshake.ConnectAsync(stream, stream, default);
            await stream.WriteAsync(new byte[] { 0x03, 0, 0, 0, 0x98, 0x96, 0x80, 20, 0, 0, 0, 0 });
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }

        // Every bad connection is released, and the listener still serves: three clients at once complete
        // their handshakes. (Past the limit, the proxy closes a client as soon as it accepts it.)
        async Task<bool> ThreeHandshakeAsync()
        {
            var clients = Enumerable.Range(0, maxConnections).Select(_ => new TcpClient()).ToList();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await Task.WhenAll(clients.Select(async client =>
                {
                    await client.ConnectAsync(endPoint, timeout.Token);
                    await RtmpHandshake.ConnectAsync(client.GetStream(), client.GetStream(), timeout.Token);
                }));
                return true;
            }
            catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or OperationCanceledException or RtmpProtocolException)
            {
                return false;
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }
        }

        await Wait.UntilAsync(ThreeHandshakeAsync, "every bad connection released: three clients complete their handshakes at once", 20_000);
    }
}
