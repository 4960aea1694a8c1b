using System.Diagnostics;
using System.Net;
using SrsProxy.Profiling;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// The profiles that need the runtime's diagnostics port, on a proxy process run with it off
/// (<c>DOTNET_EnableDiagnostics=0</c>, as hardened deployments sometimes run .NET): the kernel-sampled CPU
/// profile is still served, native and kernel code named and the reason for the unnamed managed code in its
/// comments; the EventPipe profiles get a clear 503 instead of an error from inside the diagnostics client.
/// </summary>
public sealed class DiagnosticsPortTests
{
    [Fact]
    public async Task DiagnosticsOff_CpuProfileSaysWhyManagedCodeIsUnnamed_EventPipeProfilesGet503()
    {
        var pprof = ExternalTools.FreeTcpPort();
        await using var proxy = await ProxyProcess.StartAsync(("GO_PPROF", $"127.0.0.1:{pprof}"), ("DOTNET_EnableDiagnostics", "0"));
        var root = new Uri($"http://127.0.0.1:{pprof}/debug/pprof/");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        var cpu = await http.GetAsync(new Uri(root, "profile?seconds=2&hz=1000"));
        if (cpu.StatusCode == HttpStatusCode.OK)
        {
            // The kernel's sampler ran: go tool pprof reads the profile, and it says why methods have no names.
            var comments = await GoPprof.AcceptAsync("-comments", new Uri(root, "profile?seconds=1&hz=1000").ToString());
            Assert.Contains("perf_event", comments);
            Assert.Contains("managed code not named: the runtime's diagnostics port", comments);
        }
        else
        {
            // No perf events here: the EventPipe sampler needs the port too.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, cpu.StatusCode);
            Assert.Contains("diagnostics port", await cpu.Content.ReadAsStringAsync());
        }

        var allocs = await http.GetAsync(new Uri(root, "allocs?seconds=1"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, allocs.StatusCode);
        Assert.Contains("diagnostics port", await allocs.Content.ReadAsStringAsync());

        // And the profiler is free again: a refused profile holds no slot.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri(root, "allocs?seconds=1"))).StatusCode);
        Assert.False(proxy.HasExited, proxy.Output);
    }

    [Fact]
    public async Task SocketOfAnotherProcess_IsRefused_TheRuntimesOwnIsTaken()
    {
        // A socket named like a diagnostics port but another process's: what a sidecar with the same process id
        // in another PID namespace leaves in a shared temporary directory. Here the other process is a real
        // redis-server listening on a Unix socket of that name.
        var directory = Directory.CreateTempSubdirectory("diag-port-").FullName;
        var path = Path.Combine(directory, $"dotnet-diagnostic-{Environment.ProcessId}-1-socket");
        var info = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no" })
        {
            info.ArgumentList.Add(argument);
        }

        using var other = Process.Start(info)!;
        try
        {
            await Wait.UntilAsync(() => File.Exists(path), "redis-server listening on the Unix socket");
            var refused = await Assert.ThrowsAsync<ProfileUnavailableException>(() => DiagnosticsPort.ConnectAsync(path, CancellationToken.None));
            Assert.Contains("another process's", refused.Message);
            Assert.Contains($"process {other.Id}", refused.Message);

            // This process's own port passes the same check.
            using var own = await DiagnosticsPort.ConnectAsync(DiagnosticsPort.SocketPath()!, CancellationToken.None);
            Assert.True(own.Connected);
        }
        finally
        {
            other.Kill();
            await other.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}
