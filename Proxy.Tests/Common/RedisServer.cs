using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Tests.Common;

/// <summary>A real redis-server (Debian package) on a free loopback port, with no persistence.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    public static async Task<RedisServer> StartAsync()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var server = new RedisServer(port);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts it again on the same port (after <see cref="StopAsync"/>), empty, as a restarted Redis.</summary>
    public async Task RestartAsync()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes" })
        {
            info.ArgumentList.Add(argument);
        }

        var process = _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start redis-server");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await Wait.UntilAsync(async () => process.HasExited || await ExternalTools.AcceptsAsync(Port), $"redis-server listening on {Port}, or exiting");
        if (process.HasExited)
        {
            throw new InvalidOperationException($"redis-server did not start on {Port}: {await stdout}{await stderr}");
        }
    }

    /// <summary>Kills it, as a crashed Redis.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
