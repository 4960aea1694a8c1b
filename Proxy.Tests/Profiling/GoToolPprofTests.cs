using System.Net;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// Profiles taken from the running proxy while its relay carries UDP load, read by Go's own
/// <c>go tool pprof</c>: every profile must be accepted, and the CPU profile must name the relay's code.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class GoToolPprofTests : IAsyncLifetime
{
    /// <summary>A few thousand datagrams a second each way, as a few hundred players of a 200 kbps stream.</summary>
    private const int LoadPerSecond = 4000;

    private readonly ITestOutputHelper _output;
    private readonly string _folder = Directory.CreateTempSubdirectory("pprof-test-").FullName;
    private TestProxy _proxy = null!;
    private RelayLoad _load = null!;

    public GoToolPprofTests(ITestOutputHelper output) => _output = output;

    private Uri Pprof => _proxy.Pprof!;

    public async Task InitializeAsync()
    {
        _proxy = await TestProxy.StartAsync(o => o with
        {
            Pprof = new ListenAddress(IPAddress.Loopback, 0),
            OriginTtl = TimeSpan.FromHours(1),
            RtcIdleTimeout = TimeSpan.FromHours(1),
        });
        _load = await RelayLoad.StartAsync(_proxy.Relay, _proxy.Registry, LoadPerSecond);
        await Wait.UntilAsync(() => _load.Received > 1000, "a thousand datagrams round trip through the relay", 30_000);
    }

    public async Task DisposeAsync()
    {
        await _load.DisposeAsync();
        await _proxy.DisposeAsync();
        if (Environment.GetEnvironmentVariable("PPROF_TEST_KEEP") is null) { Directory.Delete(_folder, recursive: true); }
    }

    private async Task<string> SaveAsync(string query, string file)
    {
        var path = Path.Combine(_folder, file);
        using var response = await _proxy.Http.GetAsync(new Uri(Pprof, query));
        Assert.True(response.IsSuccessStatusCode, $"{query}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return path;
    }

    [Fact]
    public async Task CpuProfile_UnderUdpLoad_GoToolTopNamesTheRelaysFunctions()
    {
        var before = _load.Received;

        // The densest rate (?hz=1000, ten times Go's default): the test's short windows need the samples.
        var top = await GoPprof.AcceptAsync("-top", new Uri(Pprof, "profile?seconds=5&hz=1000").ToString());
        _output.WriteLine(top);
        Assert.True(_load.Received - before > LoadPerSecond, "the load ran during the profile");

        Assert.Contains("Type: cpu", top);
        Assert.Contains("Duration: 5", top);
        // The UDP engine by name: on Linux its pump, which reads the public socket and the session sockets;
        // elsewhere its async receive loops. The per-datagram step from player to origin is the WebRTC relay's
        // HandleFromPlayer, or the engine's ForwardToOrigin once the JIT has inlined HandleFromPlayer into its
        // caller (tier 1 with PGO does).
        Assert.Matches(OperatingSystem.IsLinux()
            ? @"\sSrsProxy\.Udp\.UdpPump\.Run\n"
            : @"\sSrsProxy\.Udp\.UdpRelayEngine\+<ReceiveLoopAsync>d__\d+\.MoveNext\n", top);
        Assert.Matches(@"\s(SrsProxy\.WebRtc\.Relay\.RtcRelay\.HandleFromPlayer|SrsProxy\.Udp\.UdpRelayEngine\.ForwardToOrigin|SrsProxy\.Udp\.UdpPump\.ReceiveFromClients)\n", top);

        // Waiting threads are not CPU: the thread pool's parking spot must not lead the profile.
        var firstRow = top.Split('\n').SkipWhile(l => !l.TrimStart().StartsWith("flat", StringComparison.Ordinal)).Skip(1).First();
        Assert.DoesNotContain("WaitNative", firstRow);
        Assert.DoesNotContain("WaitForSocketEvents", firstRow);
    }

    [Fact]
    public async Task CpuProfile_RawAndTraces_HaveSourceLinesOfTheRelay()
    {
        var file = await SaveAsync("profile?seconds=3&hz=1000", "cpu.pb.gz");
        var raw = await GoPprof.AcceptAsync("-raw", file);
        Assert.Contains("PeriodType: cpu nanoseconds", raw);
        var engine = OperatingSystem.IsLinux() ? "UdpPump" : "UdpRelayEngine";
        Assert.Matches($@"SrsProxy\.Udp\.{engine}\S* \S*/Proxy/Udp/{engine}\.cs:\d+", raw);

        var traces = await GoPprof.AcceptAsync("-traces", file);
        Assert.Contains(OperatingSystem.IsLinux() ? "SrsProxy.Udp.UdpPump.Run" : "SrsProxy.Udp.UdpRelayEngine+<ReceiveLoopAsync>", traces);
    }

    /// <summary>
    /// Where the kernel allows perf events (root, or perf_event_paranoid &lt;= 1), the profile goes below the
    /// managed frames: the system calls the relay makes and the kernel's UDP code, each sample labelled with
    /// its thread. Elsewhere it says it fell back to EventPipe's sampler.
    /// </summary>
    [Fact]
    public async Task CpuProfile_KernelSamples_ShowTheRelaysSystemCallsAndThreads()
    {
        var file = await SaveAsync("profile?seconds=3&hz=1000", "cpu-kernel.pb.gz");
        var comments = await GoPprof.AcceptAsync("-comments", file);
        _output.WriteLine(comments);
        if (!comments.Contains("perf_event CPU-time sampling", StringComparison.Ordinal))
        {
            Assert.Contains("EventPipe thread samples", comments);
            return;
        }

        Assert.Contains("one sample per 1000 µs of a thread's CPU", comments);

        var traces = await GoPprof.AcceptAsync("-traces", file);
        var raw = await GoPprof.AcceptAsync("-raw", file);
        var tags = await GoPprof.AcceptAsync("-tags", file);

        // Every code version has its line map, the pump's loop (running in on-stack-replacement code) included.
        Assert.Matches(@"SrsProxy\.Udp\.UdpPump\.Run \S*/Proxy/Udp/UdpPump\.cs:\d+", raw);
        _output.WriteLine(tags);
        Assert.Contains("rtc-pump", tags);
        if (comments.Contains("kernel and user frames", StringComparison.Ordinal))
        {
            // One chain (the lines of one sample all start with a space) from the kernel's UDP send up through
            // libc's sendmmsg to the pump itself.
            Assert.Matches(@"udp_sendmsg\n(?: [^\n]*\n)*? +(__)?sendmmsg\n(?: [^\n]*\n)*? +SrsProxy\.Udp\.UdpPump\.Run\n", traces);
        }
    }

    [Fact]
    public async Task AllocsHeapGoroutine_AreAcceptedByGoTool()
    {
        foreach (var (query, type) in new[] { ("allocs?seconds=2", "alloc_space"), ("heap", "inuse_space"), ("goroutine", "goroutine") })
        {
            var top = await GoPprof.AcceptAsync("-top", new Uri(Pprof, query).ToString());
            _output.WriteLine(string.Join('\n', top.Split('\n').Take(14)));
            Assert.Contains($"Type: {type}", top);

            var file = await SaveAsync(query, type + ".pb.gz");
            await GoPprof.AcceptAsync("-raw", file);
            await GoPprof.AcceptAsync("-traces", file);
        }

        // Go's text goroutine format parses too (pprof's legacy reader).
        var text = await SaveAsync("goroutine?debug=1", "goroutine.txt");
        var raw = await GoPprof.AcceptAsync("-raw", text);
        Assert.Contains("goroutine", raw);
    }

    [Fact]
    public async Task Base_BetweenTwoProfiles_IsAccepted()
    {
        var before = await SaveAsync("profile?seconds=2", "cpu-before.pb.gz");
        var after = await SaveAsync("profile?seconds=2", "cpu-after.pb.gz");
        var diff = await GoPprof.AcceptAsync("-top", "-base", before, after);
        Assert.Contains("Type: cpu", diff);

        var heapBefore = await SaveAsync("heap", "heap-before.pb.gz");
        var heapAfter = await SaveAsync("heap", "heap-after.pb.gz");
        await GoPprof.AcceptAsync("-top", "-base", heapBefore, heapAfter);
    }

    [Fact]
    public async Task ProfilesUnderLoad_ConcurrentAndRepeated_AllCompleteAndLeaveNothingOpen()
    {
        // Self-tracing deadlocks when a session's reader blocks while the runtime stops it; overlapping
        // sessions that start and stop while the relay is busy are the way to meet that if it is there.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        string[][] rounds =
        [
            ["profile?seconds=1", "goroutine", "allocs?seconds=1"],
            ["heap", "trace?seconds=1", "goroutine?debug=2"],
            ["profile?seconds=2", "heap", "goroutine?debug=1"],
            ["allocs?seconds=1", "trace?seconds=0.5", "profile?seconds=1"],
        ];
        foreach (var round in rounds)
        {
            var answers = await Task.WhenAll(round.Select(async query =>
            {
                using var response = await client.GetAsync(new Uri(Pprof, query));
                return (query, response.StatusCode, Length: (await response.Content.ReadAsByteArrayAsync()).Length);
            }));
            Assert.All(answers, a => Assert.True(a.StatusCode == HttpStatusCode.OK && a.Length > 0, $"{a.query}: {a.StatusCode}"));
        }

        await Wait.UntilAsync(() => PprofEndpointsTests.Recordings(_proxy).Length == 0, "every recording stopped and deleted", 30_000);
        Assert.Equal(0, PprofEndpointsTests.PerfEventDescriptors());
        Assert.True(_load.Received > 0);
    }
}
