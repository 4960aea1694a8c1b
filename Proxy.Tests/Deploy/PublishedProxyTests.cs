using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Health.V1;
using SrsProxy.Grpc.V1;
using SrsProxy.Tests.Common;
using SrsProxy.Tests.Grpc;
using SrsProxy.Tests.Profiling;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// The build that <c>dotnet publish</c> makes (Proxy/Proxy.csproj: trimmed and self-contained), which the
/// container image and the systemd unit run and scripts/bench measures. Every other test runs the
/// framework-dependent build. Trimming keeps only what the proxy references, so these tests start the published
/// executable and use each part that reaches code late or by name: the profiler (EventPipe, TraceEvent), gRPC,
/// the Redis registry, and the JSON answers. WebRTC media through the published build: the benchmark's smoke
/// run in scripts/test. scripts/test publishes to artifacts/published before it runs the tests.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class PublishedProxyTests
{
    private static readonly string Folder = Path.Combine(DeployKit.Root, "artifacts", "published");

    private static readonly string OriginBody =
        """{"device_id":"origin1","ip":"127.0.0.1","server":"vid-1","service":"svc1","pid":"1234","rtmp":["19351"],"api":["19851"],"rtc":["udp://0.0.0.0:8001"]}""";

    /// <summary>The published executable, which must be newer than every source of the proxy.</summary>
    private static string Executable
    {
        get
        {
            var executable = Path.Combine(Folder, "srs-proxy");
            const string Publish = "dotnet publish Proxy/Proxy.csproj -c Release -o artifacts/published (scripts/test does)";
            Assert.True(File.Exists(executable), $"no published proxy at {executable}: run {Publish}");
            var published = File.GetLastWriteTimeUtc(Path.Combine(Folder, "srs-proxy.dll"));
            var source = Directory.EnumerateFiles(Path.Combine(DeployKit.Root, "Proxy"), "*", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Append(Path.Combine(DeployKit.Root, "Directory.Build.props"))
                .Append(Path.Combine(DeployKit.Root, "Directory.Packages.props"))
                .MaxBy(File.GetLastWriteTimeUtc)!;
            Assert.True(published >= File.GetLastWriteTimeUtc(source), $"the published proxy is older than {source}: run {Publish}");
            return executable;
        }
    }

    private static async Task RegisterAsync(HttpClient http, ProxyProcess proxy)
    {
        using var response = await http.PostAsync(proxy.RegisterUrl, new StringContent(OriginBody, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, answer.RootElement.GetProperty("code").GetInt32());
    }

    /// <summary>
    /// Fails on: a profile the published build cannot make (a type or member of the trace reader trimmed away,
    /// EventPipe unavailable), one that go tool pprof does not read, a trace that is not a nettrace file.
    /// </summary>
    [Fact]
    public async Task PublishedProxy_EveryProfile_GoToolPprofReadsIt()
    {
        var pprof = ExternalTools.FreeTcpPort();
        await using var proxy = await ProxyProcess.StartExecutableAsync(Executable, ("GO_PPROF", $"127.0.0.1:{pprof}"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        await RegisterAsync(http, proxy);
        var root = new Uri($"http://127.0.0.1:{pprof}/debug/pprof/");

        (string Query, string Type)[] profiles =
        [
            ("heap", "inuse_space"),
            ("allocs?seconds=1", "alloc_space"),
            ("goroutine", "goroutine"),
            ("profile?seconds=2", "cpu"),
        ];
        foreach (var (query, type) in profiles)
        {
            var top = await GoPprof.AcceptAsync("-top", new Uri(root, query).ToString());
            Assert.Contains($"Type: {type}", top);
        }

        // The heap profile names the proxy's own types, and the goroutine profile its threads' frames.
        Assert.Contains("SrsProxy.", await GoPprof.AcceptAsync("-top", "-nodefraction=0", "-nodecount=100000", new Uri(root, "heap").ToString()));
        Assert.Contains("SrsProxy.", await GoPprof.AcceptAsync("-traces", new Uri(root, "goroutine").ToString()));

        // The kernel sampler names managed code from the runtime's rundown, read as it streams over the diagnostics port.
        var cpu = await GoPprof.AcceptAsync("-comments", new Uri(root, "profile?seconds=1").ToString());
        if (cpu.Contains("perf_event", StringComparison.Ordinal))
        {
            // An idle proxy may have no managed code among its few samples: the rundown must have been read.
            Assert.Matches(@"rundown: [1-9]\d{3,} methods, \d+ of them sampled", cpu);

            // Go's rate unless asked otherwise: one sample per 10 ms of a thread's CPU.
            Assert.Contains("one sample per 10000 µs of a thread's CPU", cpu);
        }
        else
        {
            Assert.Contains("EventPipe thread samples", cpu);
        }

        var trace = await http.GetByteArrayAsync(new Uri(root, "trace?seconds=1"));
        Assert.StartsWith("Nettrace", Encoding.ASCII.GetString(trace, 0, Math.Min(trace.Length, 8)));
        Assert.False(proxy.HasExited, proxy.Output);
    }

    /// <summary>Fails on: the gRPC services (code generated from the protos, bound at start) trimmed or not bound.</summary>
    [Fact]
    public async Task PublishedProxy_Grpc_AnswersHealthAndListsOrigins()
    {
        var grpc = ExternalTools.FreeTcpPort();
        await using var proxy = await ProxyProcess.StartExecutableAsync(Executable, ("PROXY_GRPC", $"127.0.0.1:{grpc}"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await RegisterAsync(http, proxy);

        using var client = new GrpcTestClient(new Uri($"http://127.0.0.1:{grpc}"));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.CheckAsync(""));
        var origin = Assert.Single((await client.Control.ListOriginsAsync(new ListOriginsRequest(), client.Auth, GrpcTestClient.Deadline)).Origins);
        Assert.Equal("origin1", origin.DeviceId);
    }

    /// <summary>
    /// Fails on: the Redis registry (StackExchange.Redis, its scripts, the stored records' JSON) broken by
    /// trimming: the origin registered must be in Redis, and listed from it.
    /// </summary>
    [Fact]
    public async Task PublishedProxy_RedisRegistry_StoresAndListsTheOrigin()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var proxy = await ProxyProcess.StartExecutableAsync(Executable,
            ("PROXY_LOAD_BALANCER_TYPE", "redis"),
            ("PROXY_REDIS_HOST", "127.0.0.1"),
            ("PROXY_REDIS_PORT", redis.Port.ToString(CultureInfo.InvariantCulture)));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await RegisterAsync(http, proxy);

        Assert.Contains("srs-proxy:origin:vid-1-svc1-1234", await redis.CliAsync("keys", "srs-proxy:*"));
        using var origins = JsonDocument.Parse(await http.GetStringAsync(new Uri(proxy.SystemApi, "api/v1/origins")));
        var origin = Assert.Single(origins.RootElement.GetProperty("origins").EnumerateArray());
        Assert.Equal("origin1", origin.GetProperty("device_id").GetString());
    }
}
