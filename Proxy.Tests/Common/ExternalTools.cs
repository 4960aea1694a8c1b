using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Tests.Common;

/// <summary>Runs Debian's ffmpeg, ffprobe, nginx and srt-live-transmit for the protocol tests.</summary>
internal static class ExternalTools
{
    /// <summary>Ports handed out by the free-port helpers in this test run, TCP and UDP alike.</summary>
    private static readonly HashSet<int> HandedOut = [];

    public static int FreeTcpPort() => Distinct(() =>
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    });

    public static int FreeUdpPort() => FreeUdpPort(IPAddress.Loopback);

    /// <summary>A UDP port free on <paramref name="address"/> just now.</summary>
    public static int FreeUdpPort(IPAddress address) => Distinct(() =>
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    });

    /// <summary>
    /// A port the kernel calls free that no earlier call handed out. The kernel may give a port closed a moment
    /// ago again: a proxy once got the same port for two of its listeners from four calls in a row, and refused
    /// to start ("two listeners on one port").
    /// </summary>
    private static int Distinct(Func<int> probe)
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = probe();
            lock (HandedOut)
            {
                if (HandedOut.Add(port) || attempt == 100)
                {
                    return port;
                }
            }
        }
    }

    /// <summary>Whether something accepts TCP connections on the loopback port (the connection is closed at once).</summary>
    public static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether a socket of this network namespace listens on the TCP port (or, for UDP, is bound to the port),
    /// read from <c>/proc/net</c> without connecting: a probe connection would be the only client of a tool
    /// that serves one (ffmpeg's <c>-listen 1</c>).
    /// </summary>
    public static bool IsBound(ProtocolType protocol, int port)
    {
        var (tables, state) = protocol == ProtocolType.Tcp ? (new[] { "tcp", "tcp6" }, "0A") : (new[] { "udp", "udp6" }, null);
        foreach (var table in tables)
        {
            var path = Path.Combine("/proc/net", table);
            if (!File.Exists(path))
            {
                continue;
            }

            // "sl local_address rem_address st ...", the local address as hex "ADDRESS:PORT"; st 0A is TCP_LISTEN.
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = fields[1];
                if (int.Parse(local.AsSpan(local.IndexOf(':') + 1), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture) == port &&
                    (state is null || fields[3] == state))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Runs a tool to its end (or kills it at the timeout) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string tool, TimeSpan timeout, params string[] arguments)
    {
        using var process = Start(tool, arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, await stdout, await stderr + $"\n(killed after {timeout})");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-running tool; the caller disposes it (which kills it).</summary>
    public static Background StartBackground(string tool, params string[] arguments) => new(Start(tool, arguments));

    private static Process Start(string tool, string[] arguments)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {tool}");
    }

    internal sealed class Background : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stderr;

        public Background(Process process)
        {
            _process = process;
            _ = process.StandardOutput.ReadToEndAsync();
            _stderr = process.StandardError.ReadToEndAsync();
        }

        public bool HasExited => _process.HasExited;

        public async Task<string> StderrAsync() => _process.HasExited ? await _stderr : "(running)";

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}

/// <summary>nginx with libnginx-mod-rtmp: an RTMP origin that also writes HLS, served by nginx over HTTP.</summary>
internal sealed class NginxRtmpOrigin : IAsyncDisposable
{
    private readonly ExternalTools.Background _nginx;
    private readonly string _root;

    private NginxRtmpOrigin(ExternalTools.Background nginx, string root, int rtmpPort, int httpPort)
    {
        _nginx = nginx;
        _root = root;
        RtmpPort = rtmpPort;
        HttpPort = httpPort;
    }

    public int RtmpPort { get; }

    public int HttpPort { get; }

    public string HlsDirectory => Path.Combine(_root, "hls");

    public static async Task<NginxRtmpOrigin> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("nginx-rtmp-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "hls"));
        Directory.CreateDirectory(Path.Combine(root, "logs"));
        var rtmp = ExternalTools.FreeTcpPort();
        var http = ExternalTools.FreeTcpPort();
        var config = Path.Combine(root, "nginx.conf");
        await File.WriteAllTextAsync(config, $$"""
            load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
            daemon off;
            master_process off;
            error_log {{root}}/logs/error.log warn;
            pid {{root}}/nginx.pid;
            events { worker_connections 256; }
            rtmp {
              server {
                listen 127.0.0.1:{{rtmp}};
                chunk_size 4096;
                application live { live on; hls on; hls_path {{root}}/hls; hls_fragment 1s; hls_playlist_length 6s; }
              }
            }
            http {
              access_log off;
              client_body_temp_path {{root}}/body;
              proxy_temp_path {{root}}/proxy;
              fastcgi_temp_path {{root}}/fastcgi;
              uwsgi_temp_path {{root}}/uwsgi;
              scgi_temp_path {{root}}/scgi;
              server {
                listen 127.0.0.1:{{http}};
                location /live/ { types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; } alias {{root}}/hls/; }
              }
            }
            """);
        var nginx = ExternalTools.StartBackground("nginx", "-p", root, "-c", config);
        try
        {
            await Wait.UntilAsync(async () => nginx.HasExited || await ExternalTools.AcceptsAsync(rtmp), $"nginx accepting RTMP on port {rtmp}, or exiting");
            if (nginx.HasExited)
            {
                throw new InvalidOperationException("nginx did not start: " + await File.ReadAllTextAsync(Path.Combine(root, "logs", "error.log")));
            }
        }
        catch
        {
            await nginx.DisposeAsync();
            Directory.Delete(root, recursive: true);
            throw;
        }

        return new NginxRtmpOrigin(nginx, root, rtmp, http);
    }

    public async ValueTask DisposeAsync()
    {
        await _nginx.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
