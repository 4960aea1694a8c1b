using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SrsProxy.Tests.Common;

/// <summary>
/// The built proxy as a process of its own (<c>dotnet srs-proxy.dll</c>), configured by environment
/// variables as an operator does: for what an in-process <see cref="TestProxy"/> cannot show, such as a
/// kill -9 or a signal.
/// </summary>
internal sealed class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ProxyProcess(Process process, int httpApi, int systemApi)
    {
        _process = process;
        HttpApi = new Uri($"http://127.0.0.1:{httpApi}/");
        SystemApi = new Uri($"http://127.0.0.1:{systemApi}/");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri HttpApi { get; }

    public Uri SystemApi { get; }

    public Uri RegisterUrl => new(SystemApi, "api/v1/srs/register");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the proxy with <paramref name="environment"/> on top of loopback defaults (free ports for the
    /// HTTP API and system API, port 0 for the rest), and waits until its system API answers.
    /// </summary>
    public static async Task<ProxyProcess> StartAsync(IReadOnlyDictionary<string, string> environment)
    {
        var httpApi = FreeTcpPort();
        var systemApi = FreeTcpPort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "srs-proxy.dll"));
        info.Environment["PROXY_HTTP_API"] = $"127.0.0.1:{httpApi}";
        info.Environment["PROXY_SYSTEM_API"] = $"127.0.0.1:{systemApi}";
        info.Environment["PROXY_HTTP_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_WEBRTC_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_SRT_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_RTMP_SERVER"] = "127.0.0.1:0";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var proxy = new ProxyProcess(Process.Start(info) ?? throw new InvalidOperationException("cannot start the proxy"), httpApi, systemApi);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Wait.UntilAsync(
            async () =>
            {
                if (proxy.HasExited)
                {
                    return true;
                }

                try
                {
                    return (await http.GetAsync(new Uri(proxy.SystemApi, "api/v1/versions"))).IsSuccessStatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            },
            "the proxy process answers on its system API",
            30_000);
        if (proxy.HasExited)
        {
            throw new InvalidOperationException($"the proxy exited at start:\n{proxy.Output}");
        }

        return proxy;
    }

    /// <summary>kill -9: no drain, no goodbye, as a lost machine.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public static int FreeTcpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static int FreeUdpPort(IPAddress address)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
