using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests;

/// <summary>The built proxy executable, started as an operator would, with bad settings.</summary>
public class ProgramTests
{
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunProxyAsync(params (string Key, string Value)[] env)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "srs-proxy.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(dll);
        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("PROXY_HTTP_API", "abc")]
    [InlineData("PROXY_LOAD_BALANCER_TYPE", "zookeeper")]
    [InlineData("PROXY_ORIGIN_TTL", "forever")]
    public async Task Start_BadValue_ExitsNonZeroWithOneLineNamingIt(string name, string value)
    {
        var (exitCode, stdout, stderr) = await RunProxyAsync((name, value));
        Assert.NotEqual(0, exitCode);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.Contains($"{name}={value}", line);
        Assert.Empty(stdout);
    }

    /// <summary>
    /// srs-proxy 8.x's authentication switched on but incomplete: the proxy must not start open while the
    /// operator believes registration is protected. Exit code 2, as for any bad setting, and one line.
    /// </summary>
    [Theory]
    [InlineData("PROXY_HTTP_API_AUTH_TYPE is unset", "PROXY_HTTP_API_AUTH_TOKEN", "s3cret")]
    [InlineData("PROXY_HTTP_API_AUTH_TOKEN is unset", "PROXY_HTTP_API_AUTH_TYPE", "bearer")]
    [InlineData("PROXY_HTTP_API_AUTH_TYPE=basic: only supports bearer", "PROXY_HTTP_API_AUTH_TYPE", "basic", "PROXY_HTTP_API_AUTH_TOKEN", "s3cret")]
    public async Task Start_ReferenceAuthIncomplete_ExitsTwoWithOneLineNamingTheVariable(string expected, params string[] pairs)
    {
        var env = new List<(string, string)> { ("PROXY_HTTP_API_AUTH_ENABLED", "on") };
        for (var i = 0; i < pairs.Length; i += 2)
        {
            env.Add((pairs[i], pairs[i + 1]));
        }

        var (exitCode, stdout, stderr) = await RunProxyAsync([.. env]);
        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line);
        Assert.DoesNotContain("s3cret", line);
        Assert.Empty(stdout);
    }

    /// <summary>
    /// The proxy process configured with srs-proxy 8.x's variables: an origin heartbeating with the Bearer token
    /// registers; one without it gets 401 and the challenge. The token never reaches the log.
    /// </summary>
    [Fact]
    public async Task Start_ReferenceAuth_BearerHeartbeatRegisters_AnonymousGets401()
    {
        string log;
        await using (var proxy = await ProxyProcess.StartAsync(
            ("PROXY_HTTP_API_AUTH_ENABLED", "on"), ("PROXY_HTTP_API_AUTH_TYPE", "bearer"), ("PROXY_HTTP_API_AUTH_TOKEN", "process-token-value")))
        {
            using var api = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            using var anonymous = await api.PostAsync(proxy.RegisterUrl, new StringContent(SystemApi.RegistrationParserTests.SrsBody));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Bearer", Assert.Single(anonymous.Headers.WwwAuthenticate).Scheme);

            using var heartbeat = new HttpRequestMessage(HttpMethod.Post, proxy.RegisterUrl) { Content = new StringContent(SystemApi.RegistrationParserTests.SrsBody) };
            heartbeat.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "process-token-value");
            using var registered = await api.SendAsync(heartbeat);
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
            log = proxy.Output;
        }

        Assert.Contains("PROXY_SYSTEM_API_TOKEN=******", log);
        Assert.DoesNotContain("process-token-value", log);
    }

    [Theory]
    [InlineData("PROXY_ORIGIN_SERVER_TTL=0s", "PROXY_ORIGIN_SERVER_TTL", "0s")]
    [InlineData("PROXY_ORIGIN_TTL=30s and PROXY_ORIGIN_SERVER_TTL=60s disagree: set one", "PROXY_ORIGIN_TTL", "30s", "PROXY_ORIGIN_SERVER_TTL", "60s")]
    public async Task Start_ReferenceTtlBadOrDisagreeing_ExitsTwoWithOneLine(string expected, params string[] pairs)
    {
        var env = new List<(string, string)>();
        for (var i = 0; i < pairs.Length; i += 2)
        {
            env.Add((pairs[i], pairs[i + 1]));
        }

        var (exitCode, _, stderr) = await RunProxyAsync([.. env]);
        Assert.Equal(2, exitCode);
        Assert.Contains(expected, Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    /// <summary>
    /// A proxy whose Redis is not there yet starts anyway (proxies and Redis restarted together come up in any
    /// order, and a supervisor's growing restart delays would keep it down long after Redis is back), says why
    /// new signalling gets 503, and answers 503 rather than hanging.
    /// </summary>
    [Fact]
    public async Task Start_RedisUnreachable_StartsAnswering503_LogsWhy()
    {
        var redisPort = FreePort(SocketType.Stream);
        var system = FreePort(SocketType.Stream);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "srs-proxy.dll"));
        info.Environment["PROXY_LOAD_BALANCER_TYPE"] = "redis";
        info.Environment["PROXY_REDIS_PORT"] = redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["PROXY_SYSTEM_API"] = $"127.0.0.1:{system}";
        foreach (var name in new[] { "PROXY_HTTP_API", "PROXY_HTTP_SERVER", "PROXY_WEBRTC_SERVER", "PROXY_SRT_SERVER", "PROXY_RTMP_SERVER" })
        {
            info.Environment[name] = "127.0.0.1:0";
        }

        using var process = Process.Start(info)!;
        var stdout = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        _ = process.StandardError.ReadToEndAsync();
        try
        {
            using var api = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            HttpStatusCode? status = null;
            await Wait.UntilAsync(
                async () =>
                {
                    try
                    {
                        status = (await api.GetAsync($"http://127.0.0.1:{system}/api/v1/origins")).StatusCode;
                        return true;
                    }
                    catch (HttpRequestException)
                    {
                        return !process.HasExited ? false : throw new InvalidOperationException($"the proxy exited ({process.ExitCode}): {stdout}");
                    }
                },
                "the proxy's system API answering",
                30_000);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            lock (stdout)
            {
                Assert.Contains($"redis 127.0.0.1:{redisPort} db 0 is not reachable at start", stdout.ToString());
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static int FreePort(SocketType type) => type == SocketType.Stream ? ExternalTools.FreeTcpPort() : ExternalTools.FreeUdpPort();

    /// <summary>
    /// Regression: every start-up <c>SocketException</c> was reported as <c>udp {PROXY_WEBRTC_SERVER}</c>,
    /// though RTMP and SRT bind sockets of their own. The failing listener is named now.
    /// </summary>
    [Theory]
    [InlineData("PROXY_SRT_SERVER", "udp")]
    [InlineData("PROXY_WEBRTC_SERVER", "udp")]
    [InlineData("PROXY_RTMP_SERVER", "tcp")]
    public async Task Start_ListenerAddressTaken_OneLineNamesThatListener(string setting, string transport)
    {
        var type = transport == "tcp" ? SocketType.Stream : SocketType.Dgram;
        using var taken = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (type == SocketType.Stream)
        {
            taken.Listen();
        }

        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var env = new Dictionary<string, string>
        {
            ["PROXY_HTTP_API"] = "127.0.0.1:0", ["PROXY_SYSTEM_API"] = "127.0.0.1:0", ["PROXY_HTTP_SERVER"] = "127.0.0.1:0",
            ["PROXY_WEBRTC_SERVER"] = "127.0.0.1:0", ["PROXY_SRT_SERVER"] = "127.0.0.1:0", ["PROXY_RTMP_SERVER"] = "127.0.0.1:0",
        };
        env[setting] = $"127.0.0.1:{port}";
        var (exitCode, _, stderr) = await RunProxyAsync(env.Select(e => (e.Key, e.Value)).ToArray());
        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{setting}=127.0.0.1:{port} ({transport})", line);
    }

    /// <summary>
    /// Regression: the force-quit <c>Timer</c> was referenced by nothing once created, so a collection could
    /// take it before it fired, and a shutdown that hangs then hung for ever. Here an HTTP-FLV player holds a
    /// stream from an origin that never ends it, so the graceful drain (60 s) cannot finish; the proxy must
    /// exit at the force-quit deadline (2 s), with garbage collections running meanwhile (a tiny gen0 budget).
    /// </summary>
    [Fact]
    public async Task Sigterm_ShutdownHangs_ForceQuitTimerFiresAtItsDeadline()
    {
        // An origin's HTTP server whose FLV response never ends.
        using var origin = new TcpListener(IPAddress.Loopback, 0);
        origin.Start();
        using var stopOrigin = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            using var client = await origin.AcceptTcpClientAsync(stopOrigin.Token);
            var stream = client.GetStream();
            var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n\r\nFLV");
            await stream.WriteAsync(head, stopOrigin.Token);
            while (!stopOrigin.IsCancellationRequested)
            {
                await stream.WriteAsync(new byte[1024], stopOrigin.Token);
                await Task.Delay(50, stopOrigin.Token);
            }
        });

        var system = FreePort(SocketType.Stream);
        var http = FreePort(SocketType.Stream);
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "srs-proxy.dll"));
        info.Environment["PROXY_SYSTEM_API"] = $"127.0.0.1:{system}";
        info.Environment["PROXY_HTTP_SERVER"] = $"127.0.0.1:{http}";
        info.Environment["PROXY_HTTP_API"] = "127.0.0.1:0";
        info.Environment["PROXY_WEBRTC_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_SRT_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_RTMP_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_GRACE_QUIT_TIMEOUT"] = "60s";
        info.Environment["PROXY_FORCE_QUIT_TIMEOUT"] = "2s";
        info.Environment["DOTNET_GCgen0size"] = "10000";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        try
        {
            using var api = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var body = $"{{\"ip\":\"127.0.0.1\",\"server\":\"s\",\"service\":\"v\",\"pid\":\"1\",\"rtmp\":[\"1\"],\"http\":[\"{((IPEndPoint)origin.LocalEndpoint).Port}\"]}}";
            await Wait.UntilAsync(
                async () =>
                {
                    try
                    {
                        return (await api.PostAsync($"http://127.0.0.1:{system}/api/v1/srs/register", new StringContent(body))).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                "the proxy process accepts the origin's registration",
                30_000);

            using var player = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            using var response = await player.GetAsync($"http://127.0.0.1:{http}/live/livestream.flv", HttpCompletionOption.ResponseHeadersRead);
            var playing = await response.Content.ReadAsStreamAsync();
            Assert.True(await playing.ReadAsync(new byte[3]) > 0, "the stream plays through the proxy");

            var stopwatch = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(1, process.ExitCode);
            Assert.InRange(stopwatch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
            Assert.Contains("not stopped after PROXY_FORCE_QUIT_TIMEOUT=2s, exiting", await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await stopOrigin.CancelAsync();
            await serving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }
    }
}
