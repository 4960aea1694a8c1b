using System.Diagnostics;

namespace SrsProxy.Tests.Configuration;

/// <summary>The built proxy executable, started as an operator would, with bad settings.</summary>
public class ProcessStartTests
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

    [Fact]
    public async Task Start_RedisUnreachable_ExitsNonZeroWithOneLine()
    {
        var (exitCode, _, stderr) = await RunProxyAsync(("PROXY_LOAD_BALANCER_TYPE", "redis"), ("PROXY_REDIS_PORT", "1"),
            ("PROXY_HTTP_API", "127.0.0.1:0"), ("PROXY_SYSTEM_API", "127.0.0.1:0"), ("PROXY_WEBRTC_SERVER", "127.0.0.1:0"));
        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("cannot connect to redis 127.0.0.1:1", line);
    }
}
