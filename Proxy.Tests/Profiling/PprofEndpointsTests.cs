using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SrsProxy.Configuration;
using SrsProxy.Profiling;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// The <c>GO_PPROF</c> listener of the real proxy, in process, on loopback. In the real-peers collection,
/// because profiles take a core and these tests check that no recording of this process is left on disk.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class PprofEndpointsTests : IAsyncLifetime
{
    private TestProxy _proxy = null!;

    private Uri Pprof => _proxy.Pprof!;

    public async Task InitializeAsync() =>
        _proxy = await TestProxy.StartAsync(o => o with { Pprof = new ListenAddress(IPAddress.Loopback, 0) });

    /// <summary>Every test leaves no recording behind (and the next one starts with none).</summary>
    public async Task DisposeAsync()
    {
        try
        {
            await Wait.UntilAsync(() => Recordings(_proxy).Length == 0, "every recording deleted", 30_000);
        }
        finally
        {
            await _proxy.DisposeAsync();
        }
    }

    /// <summary>
    /// The recordings of this process on disk. A recording's file exists from just before its EventPipe session
    /// opens until after the session is stopped and the file decoded or sent: none means no session is open.
    /// </summary>
    internal static string[] Recordings(TestProxy proxy)
    {
        var directory = (proxy.Services.GetService<ProfilingOptions>() ?? new ProfilingOptions { Address = new ListenAddress(IPAddress.Loopback, 0) }).TempDirectory;
        return Directory.Exists(directory) ? Directory.GetFiles(directory, $"*-{Environment.ProcessId}-*") : [];
    }

    [Fact]
    public async Task Index_ListsEveryProfile()
    {
        var html = await _proxy.Http.GetStringAsync(Pprof);
        foreach (var name in new[] { "allocs", "cmdline", "goroutine", "heap", "profile", "symbol", "trace" })
        {
            Assert.Contains($">{name}</a>", html);
        }
    }

    [Theory]
    [InlineData("profile?seconds=abc")]
    [InlineData("profile?seconds=0")]
    [InlineData("profile?seconds=-5")]
    [InlineData("profile?seconds=301")]
    [InlineData("profile?seconds=1.5")]
    [InlineData("profile?hz=0")]
    [InlineData("profile?hz=1001")]
    [InlineData("profile?hz=fast")]
    [InlineData("allocs?seconds=x")]
    [InlineData("allocs?debug=1")]
    [InlineData("heap?seconds=5")]
    [InlineData("goroutine?debug=3")]
    [InlineData("goroutine?seconds=1")]
    [InlineData("trace?seconds=0")]
    [InlineData("trace?seconds=61")]
    [InlineData("trace?seconds=abc")]
    public async Task BadParameter_Gets400_AndStartsNothing(string query)
    {
        var response = await _proxy.Http.GetAsync(new Uri(Pprof, query));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        Assert.Empty(Recordings(_proxy));
    }

    [Fact]
    public async Task UnknownProfile_Gets404_NamingWhatIsServed()
    {
        var response = await _proxy.Http.GetAsync(new Uri(Pprof, "block"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("goroutine", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OtherListeners_DoNotServeProfiles()
    {
        var response = await _proxy.Http.GetAsync(new Uri(_proxy.SystemApi, "debug/pprof/"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task SecondCpuProfile_WhileOneRuns_Gets409()
    {
        var first = _proxy.Http.GetAsync(new Uri(Pprof, "profile?seconds=3"));
        await Wait.UntilAsync(() => ProfileRunning(_proxy), "the first profile running (kernel sampler or EventPipe recording)", 15_000);

        var second = await _proxy.Http.GetAsync(new Uri(Pprof, "profile?seconds=1"));
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("already", await second.Content.ReadAsStringAsync());
        Assert.NotNull(second.Headers.RetryAfter);

        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        await Wait.UntilAsync(() => Recordings(_proxy).Length == 0, "the first profile's recording deleted");
    }

    [Fact]
    public async Task ClientGoneMidProfile_StopsTheSession_AndFreesTheSlot()
    {
        using var client = new HttpClient();
        using var abort = new CancellationTokenSource();
        var request = client.GetAsync(new Uri(Pprof, "profile?seconds=120"), abort.Token);
        await Wait.UntilAsync(() => ProfileRunning(_proxy), "the CPU profile running (kernel sampler or EventPipe recording)", 15_000);

        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await Wait.UntilAsync(() => !ProfileRunning(_proxy) && PerfEventDescriptors() == 0,
            "the abandoned profile stopped: its recording deleted, or its sampler thread ended and every perf event closed", 30_000);

        // The CPU slot is free again: a new profile is taken, not refused. The slot is released just after the
        // sampler's thread and events are gone, so a request in that instant may still get 409: ask again.
        HttpResponseMessage? next = null;
        await Wait.UntilAsync(async () =>
        {
            next = await _proxy.Http.GetAsync(new Uri(Pprof, "profile?seconds=1"));
            return next.StatusCode != HttpStatusCode.Conflict;
        }, "the CPU profile slot free again", 10_000);
        Assert.Equal(HttpStatusCode.OK, next!.StatusCode);
        Assert.Empty(Recordings(_proxy));
        Assert.Equal(0, PerfEventDescriptors());
    }

    /// <summary>A CPU profile is under way: an EventPipe recording on disk, or the kernel sampler's reader thread.</summary>
    private static bool ProfileRunning(TestProxy proxy) => Recordings(proxy).Length > 0 || ThreadsNamed("pprof-perf") > 0;

    private static int ThreadsNamed(string name) => OperatingSystem.IsLinux()
        ? Directory.EnumerateDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(task, "comm")).Trim() == name;
            }
            catch (IOException)
            {
                return false;
            }
        })
        : 0;

    /// <summary>Descriptors of perf events this process holds (each sampled thread has one while a profile runs).</summary>
    internal static int PerfEventDescriptors() => OperatingSystem.IsLinux()
        ? Directory.EnumerateFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget == "anon_inode:[perf_event]")
        : 0;

    [Fact]
    public async Task Goroutine_TextForms_ListThreadsWithCounts()
    {
        var grouped = await _proxy.Http.GetStringAsync(new Uri(Pprof, "goroutine?debug=1"));
        Assert.Matches(@"\Agoroutine profile: total [1-9]\d*\n", grouped);
        Assert.Matches(@"\n\d+ @( 0x[0-9a-f]+)+\n#\t0x[0-9a-f]+\t\S+", grouped);
        Assert.Contains("queued thread pool work items", grouped);

        var full = await _proxy.Http.GetStringAsync(new Uri(Pprof, "goroutine?debug=2"));
        Assert.Matches(@"\ngoroutine \d+ \[(running|waiting)", full);
        Assert.Contains("System.Threading.", full);
    }

    [Fact]
    public async Task Symbol_NamesAddressesFromARecentProfile()
    {
        Assert.Equal("num_symbols: 1\n", await _proxy.Http.GetStringAsync(new Uri(Pprof, "symbol")));

        var grouped = await _proxy.Http.GetStringAsync(new Uri(Pprof, "goroutine?debug=1"));
        var frame = grouped.Split('\n').First(l => l.StartsWith("#\t0x", StringComparison.Ordinal)).Split('\t');
        var answer = await _proxy.Http.PostAsync(new Uri(Pprof, "symbol"), new StringContent($"{frame[1]}+0x1"));
        Assert.Contains($"{frame[1]} {frame[2]}\n", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Cmdline_IsTheProcessArguments()
    {
        var text = await _proxy.Http.GetStringAsync(new Uri(Pprof, "cmdline"));
        Assert.Equal(Environment.GetCommandLineArgs(), text.Split('\0'));
    }

    [Fact]
    public async Task Trace_IsANettraceFile()
    {
        var response = await _proxy.Http.GetAsync(new Uri(Pprof, "trace?seconds=0.5"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal("Nettrace"u8.ToArray(), bytes[..8]);
        await Wait.UntilAsync(() => Recordings(_proxy).Length == 0, "the sent trace deleted");
    }

    [Fact]
    public async Task Unset_NothingListens_NoProfilerExists()
    {
        await using var plain = await TestProxy.StartAsync();
        Assert.Null(plain.Options.Pprof);
        Assert.Null(plain.Pprof);
        Assert.Equal(3, plain.ListeningAddresses.Count);
        foreach (var listener in plain.ListeningAddresses)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await plain.Http.GetAsync(new Uri(listener, "debug/pprof/"))).StatusCode);
        }

        Assert.Null(plain.Services.GetService<Profiler>());
        Assert.Null(plain.Services.GetService<EventPipeRecorder>());
        Assert.Empty(Recordings(plain));
    }

    [Theory]
    [InlineData(null, LogLevel.Warning)]
    [InlineData("0.0.0.0", LogLevel.Warning)]
    [InlineData("127.0.0.1", LogLevel.Information)]
    [InlineData("::1", LogLevel.Information)]
    public async Task ListenerNotice_WarnsUnlessLoopback(string? host, LogLevel expected)
    {
        var logger = new CapturingLogger<PprofListenerNotice>();
        var address = new ListenAddress(host is null ? null : IPAddress.Parse(host), 6060);
        await new PprofListenerNotice(new ProfilingOptions { Address = address }, logger).StartAsync(default);
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(expected, entry.Level);
        Assert.Contains(address.ToString(), entry.Message);
    }
}
