using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Metrics;

/// <summary>/metrics and the instruments behind it, which dotnet-counters reads too.</summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task SignallingRequests_CountedByKindAndStatus()
    {
        await using var proxy = await TestProxy.StartAsync();
        const string sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        StringContent Offer(string body) => new(body, System.Text.Encoding.ASCII, "application/sdp");

        // No origin is registered: an offer is answered 503 by the proxy itself; one that is no SDP, 400.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=a"), Offer(sdp))).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=b"), Offer(sdp))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "rtc/v1/whip/live/c"), Offer("v=0\r\n"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await proxy.Http.DeleteAsync(new Uri(proxy.HttpApi, "rtc/v1/sessions/0123456789abcdef0123456789abcdef"))).StatusCode);
        await proxy.Http.GetAsync(new Uri(proxy.HttpApi, "api/v1/versions"));

        var text = await proxy.MetricsAsync();
        Assert.Contains("# TYPE srs_proxy_signalling_requests_total counter", text);
        Assert.Contains("srs_proxy_signalling_requests_total{kind=\"whep\",status=\"503\"} 2", text);
        Assert.Contains("srs_proxy_signalling_requests_total{kind=\"whip\",status=\"400\"} 1", text);
        Assert.Contains("srs_proxy_signalling_requests_total{kind=\"delete\",status=\"404\"} 1", text);
        Assert.DoesNotContain("kind=\"versions\"", text);
    }

    [Fact]
    public async Task Exposition_EveryFamilyHasHelpAndType_AndSamplesParse()
    {
        await using var proxy = await TestProxy.StartAsync();
        var text = await proxy.MetricsAsync();

        var typed = new HashSet<string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Contains(parts[3], new[] { "counter", "gauge" });
                Assert.True(typed.Add(parts[2]), $"family {parts[2]} declared twice");
            }
            else if (!line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var sample = SampleLine().Match(line);
                Assert.True(sample.Success, $"not a sample line: {line}");
                Assert.Contains(sample.Groups["name"].Value, typed);
                Assert.True(double.TryParse(sample.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture, out _), line);
            }
        }

        // The proxy's own meter and the runtime's.
        Assert.Contains("srs_proxy_rtc_sessions", typed);
        Assert.Contains("srs_proxy_registry_available", typed);
        Assert.Contains("dotnet_gc_heap_total_allocated_bytes_total", typed);
        Assert.Contains("dotnet_process_memory_working_set_bytes", typed);
    }

    /// <summary>
    /// The pump's own counts, for capacity planning: its CPU time and context switches follow the thread the kernel
    /// knows as rtc-pump-0. Datagrams sent 5 ms apart wake it each time (here strangers' STUN, dropped unanswered).
    /// </summary>
    [Fact]
    public async Task PumpThread_CpuAndContextSwitches_FollowTheKernelsCounts()
    {
        await using var proxy = await TestProxy.StartAsync();
        Assert.True(OperatingSystem.IsLinux());
        var pump = Assert.Single(proxy.Relay.Pumps);
        Assert.Equal("rtc-pump-0", pump.Name);
        await Wait.UntilAsync(() => pump.ThreadId != 0, "the pump thread running");

        var before = Pump(await proxy.MetricsAsync());
        using (var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            // A binding request without USERNAME from an address no session knows: dropped without an answer.
            byte[] request = [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
            for (var i = 0; i < 40; i++)
            {
                stranger.SendTo(request, new IPEndPoint(IPAddress.Loopback, proxy.Relay.LocalEndPoint.Port));
                await Task.Delay(5);
            }
        }

        await Wait.UntilAsync(() => proxy.Relay.Counters.Drops(SrsProxy.Udp.DropReason.UnknownAddress) >= 40, "the 40 datagrams read");
        var after = Pump(await proxy.MetricsAsync());
        var status = File.ReadAllLines($"/proc/self/task/{pump.ThreadId}/status");
        long Kernel(string name) => long.Parse(status.Single(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);

        // Each datagram wakes the pump and its coalescing sleep is a second switch: about 80 here. A starved CI
        // machine may let two datagrams share a wake-up, so the bound is well below that.
        Assert.InRange(after.Voluntary - before.Voluntary, 10, long.MaxValue);
        Assert.InRange(after.Voluntary, 0, Kernel("voluntary_ctxt_switches:"));
        Assert.InRange(after.Involuntary, before.Involuntary, Kernel("nonvoluntary_ctxt_switches:"));
        Assert.InRange(after.Cpu, before.Cpu + 1e-6, 10);
    }

    private static (double Cpu, long Voluntary, long Involuntary) Pump(string metrics)
    {
        double Value(string prefix, string labels) => double.Parse(
            metrics.Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains(labels, StringComparison.Ordinal)).Split(' ')[^1],
            System.Globalization.CultureInfo.InvariantCulture);
        return (Value("srs_proxy_rtc_pump_cpu_seconds_total{", "pump=\"rtc-pump-0\""),
            (long)Value("srs_proxy_rtc_pump_context_switches_total{", "kind=\"voluntary\""),
            (long)Value("srs_proxy_rtc_pump_context_switches_total{", "kind=\"involuntary\""));
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    /// <summary>
    /// The protocol dotnet-counters speaks: an EventPipe session on the proxy process with the
    /// System.Diagnostics.Metrics provider asking for the meter "SrsProxy". (The dotnet-counters tool itself is
    /// not in the package feeds this project reaches; this is the same request it makes.)
    /// </summary>
    [Fact]
    public async Task DotnetCountersProtocol_SeesTheProxyInstruments()
    {
        var systemPort = ExternalTools.FreeTcpPort();
        using var proxy = StartProxyProcess(systemPort);
        try
        {
            using var http = new HttpClient();
            var metricsUrl = $"http://127.0.0.1:{systemPort}/metrics";
            await Wait.UntilAsync(
                async () =>
                {
                    try
                    {
                        return (await http.GetAsync(metricsUrl)).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                "the proxy process serves /metrics",
                30_000);

            var client = new DiagnosticsClient(proxy.Id);
            var provider = new EventPipeProvider("System.Diagnostics.Metrics", EventLevel.Informational, keywords: 0x2 | 0x4,
                arguments: new Dictionary<string, string>
                {
                    ["SessionId"] = "srs-proxy-test",
                    ["Metrics"] = "SrsProxy",
                    ["RefreshInterval"] = "1",
                    ["MaxTimeSeries"] = "1000",
                    ["MaxHistograms"] = "10",
                });
            using var session = client.StartEventPipeSession([provider], requestRundown: false);
            var seen = new Dictionary<string, string>();
            var reading = Task.Run(() =>
            {
                using var source = new EventPipeEventSource(session.EventStream);
                source.Dynamic.All += e =>
                {
                    if (e.ProviderName != "System.Diagnostics.Metrics" || e.PayloadByName("meterName") as string != "SrsProxy")
                    {
                        return;
                    }

                    var instrument = (string)e.PayloadByName("instrumentName");
                    lock (seen)
                    {
                        seen[$"{e.EventName}/{instrument}"] = e.PayloadByName("tags") as string ?? "";
                    }
                };
                source.Process();
            });

            bool Published(string instrument)
            {
                lock (seen)
                {
                    return seen.Keys.Any(k => k.EndsWith("/" + instrument, StringComparison.Ordinal) && k.Contains("ValuePublished", StringComparison.Ordinal));
                }
            }

            await Wait.UntilAsync(() => Published("srs_proxy.rtc.dropped") && Published("srs_proxy.rtc.sessions"), "values published for srs_proxy.rtc.dropped and srs_proxy.rtc.sessions", 20_000);

            await session.StopAsync(CancellationToken.None);
            await reading.WaitAsync(TimeSpan.FromSeconds(20));
            lock (seen)
            {
                var keys = string.Join(", ", seen.Keys.Order());
                Assert.Contains("BeginInstrumentReporting/srs_proxy.rtc.datagrams", seen.Keys);
                Assert.Contains("BeginInstrumentReporting/srs_proxy.signalling.requests", seen.Keys);
                Assert.True(seen.Keys.Any(k => k.Contains("ValuePublished/srs_proxy.rtc.dropped", StringComparison.Ordinal)), keys);
                Assert.True(seen.Keys.Any(k => k.Contains("ValuePublished/srs_proxy.rtc.sessions", StringComparison.Ordinal)), keys);
            }
        }
        finally
        {
            proxy.Kill(entireProcessTree: true);
            await proxy.WaitForExitAsync();
        }
    }

    private static Process StartProxyProcess(int systemPort)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "srs-proxy.dll"));
        info.Environment["PROXY_SYSTEM_API"] = $"127.0.0.1:{systemPort}";
        foreach (var name in new[] { "PROXY_HTTP_API", "PROXY_WEBRTC_SERVER", "PROXY_RTMP_SERVER", "PROXY_HTTP_SERVER", "PROXY_SRT_SERVER" })
        {
            info.Environment[name] = "127.0.0.1:0";
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

}
