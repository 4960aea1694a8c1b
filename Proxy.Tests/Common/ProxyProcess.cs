using System.Diagnostics;
using System.Text;

namespace SrsProxy.Tests.Common;

/// <summary>
/// The built proxy executable as an operator runs it (<c>dotnet srs-proxy.dll</c>, or the published executable),
/// on loopback ports picked free just before it starts: for what only a process shows, such as how it stops and
/// its exit code.
/// </summary>
internal sealed class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ProxyProcess(Process process, int httpApi, int systemApi, int httpServer, int rtmp)
    {
        _process = process;
        HttpApi = new Uri($"http://127.0.0.1:{httpApi}/");
        SystemApi = new Uri($"http://127.0.0.1:{systemApi}/");
        HttpServer = new Uri($"http://127.0.0.1:{httpServer}/");
        RtmpPort = rtmp;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri HttpApi { get; }

    public Uri SystemApi { get; }

    public Uri HttpServer { get; }

    public int RtmpPort { get; }

    public Uri RegisterUrl => new(SystemApi, "api/v1/srs/register");

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
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

    /// <summary>The framework-dependent build beside the tests, as <c>dotnet srs-proxy.dll</c>.</summary>
    public static Task<ProxyProcess> StartAsync(params (string Key, string Value)[] environment)
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "srs-proxy.dll"));
        return StartAsync(info, environment);
    }

    /// <summary>A self-contained executable, such as the one <c>dotnet publish</c> makes.</summary>
    public static Task<ProxyProcess> StartExecutableAsync(string executable, params (string Key, string Value)[] environment) =>
        StartAsync(new ProcessStartInfo(executable), environment);

    private static async Task<ProxyProcess> StartAsync(ProcessStartInfo info, (string Key, string Value)[] environment)
    {
        var (httpApi, systemApi, httpServer, rtmp) = (ExternalTools.FreeTcpPort(), ExternalTools.FreeTcpPort(), ExternalTools.FreeTcpPort(), ExternalTools.FreeTcpPort());
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Path.GetTempPath();
        info.Environment["PROXY_HTTP_API"] = $"127.0.0.1:{httpApi}";
        info.Environment["PROXY_SYSTEM_API"] = $"127.0.0.1:{systemApi}";
        info.Environment["PROXY_HTTP_SERVER"] = $"127.0.0.1:{httpServer}";
        info.Environment["PROXY_RTMP_SERVER"] = $"127.0.0.1:{rtmp}";
        info.Environment["PROXY_WEBRTC_SERVER"] = "127.0.0.1:0";
        info.Environment["PROXY_SRT_SERVER"] = "127.0.0.1:0";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var proxy = new ProxyProcess(Process.Start(info)!, httpApi, systemApi, httpServer, rtmp);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Wait.UntilAsync(
            async () =>
            {
                if (proxy.HasExited)
                {
                    // Without a timeout, WaitForExit also waits for the output readers to reach the end: what the
                    // process wrote last (a configuration error's one line) is in the message.
                    proxy._process.WaitForExit();
                    throw new InvalidOperationException($"the proxy exited at start ({proxy.ExitCode}):\n{proxy.Output}");
                }

                try
                {
                    return (await http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
                catch (TaskCanceledException)
                {
                    return false;
                }
            },
            "the proxy process answers /readyz with 200",
            30_000);
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

    /// <summary>A UDP port free on <paramref name="address"/> just now, and not handed out before in this run.</summary>
    public static int FreeUdpPort(System.Net.IPAddress address) => ExternalTools.FreeUdpPort(address);

    /// <summary>SIGTERM, as systemd and Kubernetes stop it.</summary>
    public Task TerminateAsync() => Signals.TerminateAsync(_process.Id);

    /// <summary>Waits for the process to exit; false if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
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

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
