using System.Diagnostics;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// Go's own <c>go tool pprof</c>, the reader our profiles must satisfy (<c>scripts/test</c> installs Debian's
/// golang-go). Runs with a private HOME and PPROF_TMPDIR so fetched profiles land in a temporary folder.
/// </summary>
internal static class GoPprof
{
    private static readonly string Home = Directory.CreateTempSubdirectory("go-pprof-home-").FullName;

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("go")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["HOME"] = Home;
        info.Environment["PPROF_TMPDIR"] = Home;
        info.Environment["GOCACHE"] = Path.Combine(Home, "cache");
        info.Environment["GOFLAGS"] = "";
        info.ArgumentList.Add("tool");
        info.ArgumentList.Add("pprof");
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("cannot start go");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("`go` is not installed: run scripts/test, which installs Debian's golang-go", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"go tool pprof {string.Join(' ', arguments)} did not finish in 120 s");
            }

            return (process.ExitCode, await stdout, await stderr);
        }
    }

    /// <summary>Runs the tool and fails the test, with its output, unless it exits 0.</summary>
    public static async Task<string> AcceptAsync(params string[] arguments)
    {
        var (exitCode, stdout, stderr) = await RunAsync(arguments);
        Assert.True(exitCode == 0, $"go tool pprof {string.Join(' ', arguments)} exited {exitCode}\n{stderr}\n{stdout}");
        return stdout;
    }
}
