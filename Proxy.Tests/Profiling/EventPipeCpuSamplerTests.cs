using System.Net;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// <c>PROXY_PPROF_CPU_SAMPLER=eventpipe</c>, the sampler a proxy falls back to where the kernel refuses perf
/// events: still a CPU profile Go's tool reads, naming the relay's code, from the runtime's own samples.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class EventPipeCpuSamplerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestProxy _proxy = null!;
    private RelayLoad _load = null!;

    public async Task InitializeAsync()
    {
        _proxy = await TestProxy.StartAsync(o => o with
        {
            Pprof = new ListenAddress(IPAddress.Loopback, 0),
            PprofCpuSampler = CpuSampler.EventPipe,
            OriginTtl = TimeSpan.FromHours(1),
            RtcIdleTimeout = TimeSpan.FromHours(1),
        });
        _load = await RelayLoad.StartAsync(_proxy.Relay, _proxy.Registry, 4000);
        await Wait.UntilAsync(() => _load.Received > 1000, "a thousand datagrams round trip through the relay", 30_000);
    }

    public async Task DisposeAsync()
    {
        await _load.DisposeAsync();
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task CpuProfile_FromEventPipe_NamesTheRelay()
    {
        var top = await GoPprof.AcceptAsync("-top", new Uri(_proxy.Pprof!, "profile?seconds=3").ToString());
        output.WriteLine(top);
        Assert.Contains("EventPipe thread samples", top);
        Assert.DoesNotContain("perf_event", top);
        Assert.Matches(OperatingSystem.IsLinux() ? @"\sSrsProxy\.Udp\.UdpPump\.Run\n" : @"\sSrsProxy\.Udp\.UdpRelayEngine\+<ReceiveLoopAsync>d__\d+\.MoveNext\n", top);
    }
}
