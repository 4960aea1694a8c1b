using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SrsProxy.Hosting;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Hosting;

/// <summary>
/// What each protocol does while the proxy drains, with the proxy in this process (the process tests are
/// <see cref="DrainProcessTests"/>). <c>POST /api/v1/drain</c> begins the drain and asks the host to stop; a
/// test host is started, not run, so nothing stops it: the drain runs until the test disposes the proxy.
/// </summary>
[Collection(RealPeersCollection.Name)]
public class DrainTests
{
    private static readonly TimeSpan LongGrace = TimeSpan.FromSeconds(60);

    private static string[] TestSource(int seconds) =>
    [
        "-hide_banner", "-loglevel", "error", "-re",
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
        "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
    ];

    [Fact]
    public async Task Drain_RtmpPublisherKeepsFlowing_NewRtmpClientRefused_NewHlsPlaylistRefused_SegmentsServed()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { GraceQuitTimeout = LongGrace });
        await using var nginx = await NginxRtmpOrigin.StartAsync();
        await proxy.RegisterAsync("nginx", rtmp: nginx.RtmpPort, http: nginx.HttpPort);
        var rtmpUrl = $"rtmp://127.0.0.1:{proxy.Rtmp.LocalEndPoint.Port}/live/livestream";
        await using var publisher = ExternalTools.StartBackground("ffmpeg", [.. TestSource(120), "-f", "flv", rtmpUrl]);
        var playlistPath = Path.Combine(nginx.HlsDirectory, "livestream.m3u8");
        await Wait.UntilAsync(() => File.Exists(playlistPath), "nginx received the publish through the proxy and wrote HLS", 20_000);
        var playlist = await proxy.Http.GetStringAsync(new Uri(proxy.HttpServer, "live/livestream.m3u8"));
        var segment = playlist.Split('\n').Select(l => l.Trim()).Last(l => l.Contains(".ts?spbhid=", StringComparison.Ordinal));

        var drain = await proxy.Http.PostAsync(new Uri(proxy.SystemApi, "api/v1/drain"), null);
        Assert.Equal(HttpStatusCode.Accepted, drain.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(await drain.Content.ReadAsStringAsync()).RootElement.GetProperty("active").GetProperty("rtmp").GetInt32());
        var written = await File.ReadAllTextAsync(playlistPath);

        // HLS: a segment of the playlist served before the drain is still served (asked at once, while nginx
        // still has it), so the player plays out what it was given.
        var served = await proxy.Http.GetAsync(new Uri(new Uri(proxy.HttpServer, "live/"), segment));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(0x47, (await served.Content.ReadAsByteArrayAsync())[0]);

        // A new RTMP client is refused by the kernel: the listener is closed. A real player (ffprobe) fails.
        await Wait.UntilAsync(async () => !await ExternalTools.AcceptsAsync(proxy.Rtmp.LocalEndPoint.Port), "the RTMP listener refuses connections");
        var probe = await ExternalTools.RunAsync("ffprobe", TimeSpan.FromSeconds(20), "-v", "error", "-show_entries", "stream=codec_name", "-of", "compact", rtmpUrl);
        Assert.NotEqual(0, probe.ExitCode);
        Assert.DoesNotContain("codec_name=h264", probe.Stdout);

        // A new HLS playlist or FLV stream is refused with Retry-After.
        var refused = await proxy.Http.GetAsync(new Uri(proxy.HttpServer, "live/livestream.m3u8"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.GetAsync(new Uri(proxy.HttpServer, "live/other.flv"))).StatusCode);

        // The publisher keeps flowing through the draining proxy: nginx keeps writing new segments.
        await Wait.UntilAsync(async () => await File.ReadAllTextAsync(playlistPath) != written, "nginx writes a new HLS segment after the drain began", 15_000);
        Assert.False(publisher.HasExited, await publisher.StderrAsync());
        var drainState = proxy.Services.GetRequiredService<DrainState>();
        Assert.Equal(1, drainState.ActiveCounts()["rtmp"]);
        Assert.False(drainState.Completion.IsCompleted);
        Assert.Equal(2, drainState.RefusedCounts()["http_stream"]);
    }

    [Fact]
    public async Task Drain_SrtInductionFromNewCaller_NotAnswered_Counted_MetricsSayDraining()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { GraceQuitTimeout = LongGrace });
        using var caller = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        caller.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var srt = new IPEndPoint(IPAddress.Loopback, proxy.Srt.LocalEndPoint.Port);
        Assert.Contains("srs_proxy_draining 0", await proxy.MetricsAsync());

        // Before the drain the proxy answers an induction (the first datagram of every SRT caller).
        await caller.SendToAsync(Induction(), srt);
        Assert.True(await ReceiveAsync(caller, TimeSpan.FromSeconds(5)), "the proxy answers an SRT induction before the drain");

        Assert.Equal(HttpStatusCode.Accepted, (await proxy.Http.PostAsync(new Uri(proxy.SystemApi, "api/v1/drain"), null)).StatusCode);
        await caller.SendToAsync(Induction(), srt);
        Assert.False(await ReceiveAsync(caller, TimeSpan.FromMilliseconds(Wait.QuietMilliseconds * 2)), "an SRT induction is answered while draining");

        var drain = proxy.Services.GetRequiredService<DrainState>();
        await Wait.UntilAsync(() => drain.RefusedCounts()["srt"] == 1, "the refused SRT handshake is counted");
        var metrics = await proxy.MetricsAsync();
        Assert.Contains("srs_proxy_draining 1", metrics);
        Assert.Contains("srs_proxy_drain_refused_total{protocol=\"srt\"} 1", metrics);

        // Nothing plays: the drain is over at once, long before its 60 s deadline.
        Assert.Equal(DrainOutcome.Empty, await drain.Completion.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    /// <summary>Draining stops the process: it needs the system API's token. Probes have none and need none.</summary>
    [Fact]
    public async Task Drain_SystemApiTokenSet_NeedsToken_ProbesDoNot()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { SystemApiToken = "secret", GraceQuitTimeout = LongGrace });
        var drainUrl = new Uri(proxy.SystemApi, "api/v1/drain");
        Assert.Equal(HttpStatusCode.Unauthorized, (await proxy.Http.PostAsync(drainUrl, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await proxy.Http.GetAsync(drainUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "healthz"))).StatusCode);
        Assert.False(proxy.Services.GetRequiredService<DrainState>().IsDraining);

        using var request = new HttpRequestMessage(HttpMethod.Post, drainUrl);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "secret");
        Assert.Equal(HttpStatusCode.Accepted, (await proxy.Http.SendAsync(request)).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "healthz"))).StatusCode);
    }

    /// <summary>An SRT caller's induction (SRT RFC section 4.3.1.1): version 4, handshake type 1, cookie 0.</summary>
    private static byte[] Induction()
    {
        var packet = new byte[64];
        BinaryPrimitives.WriteUInt16BigEndian(packet, 0x8000);
        var body = packet.AsSpan(16);
        BinaryPrimitives.WriteUInt32BigEndian(body, 4);
        BinaryPrimitives.WriteUInt16BigEndian(body[6..], 2);
        BinaryPrimitives.WriteUInt32BigEndian(body[8..], 12345);
        BinaryPrimitives.WriteUInt32BigEndian(body[12..], 1500);
        BinaryPrimitives.WriteUInt32BigEndian(body[16..], 8192);
        BinaryPrimitives.WriteUInt32BigEndian(body[20..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(body[24..], 0x1234);
        return packet;
    }

    private static async Task<bool> ReceiveAsync(Socket socket, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await socket.ReceiveAsync(new byte[2048], SocketFlags.None, timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
