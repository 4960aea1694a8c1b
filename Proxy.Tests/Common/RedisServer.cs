using System.Diagnostics;
using System.Globalization;

namespace SrsProxy.Tests.Common;

/// <summary>
/// A real redis-server (Debian package) on a free loopback port, with no persistence: a standalone server, a
/// replica of another, or (the same binary with <c>--sentinel</c>) a sentinel.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _arguments;
    private Process? _process;

    private RedisServer(int port, IReadOnlyList<string> arguments)
    {
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>A standalone server (a primary), on <paramref name="port"/> or a free one.</summary>
    public static Task<RedisServer> StartAsync(int? port = null) => StartAsync(port ?? ExternalTools.FreeTcpPort(), []);

    /// <summary>A replica of the server on <paramref name="primaryPort"/>.</summary>
    public static Task<RedisServer> StartReplicaAsync(int primaryPort) =>
        StartAsync(ExternalTools.FreeTcpPort(), ["--replicaof", "127.0.0.1", Text(primaryPort)]);

    /// <summary>
    /// A sentinel watching the primary on <paramref name="primaryPort"/> as <paramref name="service"/>, with a
    /// quorum of 2 and short timeouts, so a test sees a failover within seconds. Its config file (which the
    /// sentinel rewrites with what it learns) lives in <paramref name="directory"/>.
    /// </summary>
    public static async Task<RedisServer> StartSentinelAsync(string directory, string service, int primaryPort)
    {
        var port = ExternalTools.FreeTcpPort();
        var config = Path.Combine(directory, $"sentinel-{port}.conf");
        await File.WriteAllTextAsync(config, $"""
            port {port}
            bind 127.0.0.1
            dir {directory}
            sentinel monitor {service} 127.0.0.1 {primaryPort} 2
            sentinel down-after-milliseconds {service} 1000
            sentinel failover-timeout {service} 5000
            sentinel parallel-syncs {service} 1

            """);

        // The config file must come first; --sentinel turns redis-server into redis-sentinel.
        return await StartAsync(port, [config, "--sentinel"], portArguments: false);
    }

    private static async Task<RedisServer> StartAsync(int port, string[] extra, bool portArguments = true)
    {
        var arguments = new List<string>(extra);
        if (portArguments)
        {
            arguments.InsertRange(0, ["--port", Text(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"]);
        }

        var server = new RedisServer(port, arguments);
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
        foreach (var argument in _arguments)
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

    /// <summary>Kills it (SIGKILL, as <c>kill -9</c>), as a crashed Redis.</summary>
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

    /// <summary>Runs redis-cli against this server and returns its output (RESP values, one per line).</summary>
    public async Task<string> CliAsync(params string[] command)
    {
        var (exit, stdout, stderr) = await ExternalTools.RunAsync("redis-cli", TimeSpan.FromSeconds(10), ["-h", "127.0.0.1", "-p", Text(Port), .. command]);
        return exit == 0 ? stdout.Trim() : throw new InvalidOperationException($"redis-cli -p {Port} {string.Join(' ', command)}: exit {exit}: {stderr}");
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
