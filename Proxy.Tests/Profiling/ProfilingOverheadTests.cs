using System.Globalization;
using System.Net;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using Xunit.Abstractions;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// What a CPU profile costs the relay. The relay is CPU-bound, so its capacity is the inverse of the CPU it
/// spends per datagram: this measures the process's CPU time per relayed datagram (the load comes from
/// another process) at a steady load, with and without a CPU profile sampling, alternately. A measurement,
/// not a check: it runs only with <c>PPROF_OVERHEAD=1</c> (<c>scripts/pprof-overhead</c>) and prints its
/// numbers; a timed assertion in the suite would test the machine, not the proxy. scripts/test leaves the
/// Measurement category out, so the suite neither runs nor lists it.
/// </summary>
[Collection(RealPeersCollection.Name)]
[Trait("Category", "Measurement")]
public sealed class ProfilingOverheadTests(ITestOutputHelper output)
{
    private const int Rounds = 6;

    /// <summary>Datagrams per second from the player; as many come back from the origin.</summary>
    private const int Load = 8000;

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    [OverheadFact]
    public async Task CpuProfile_CostToRelayThroughput()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with
        {
            Pprof = new ListenAddress(IPAddress.Loopback, 0),
            OriginTtl = TimeSpan.FromHours(1),
            RtcIdleTimeout = TimeSpan.FromHours(1),
        });
        await using var load = await RelayLoad.StartAsync(proxy.Relay, proxy.Registry, Load);
        var session = Assert.Single(proxy.Relay.Sessions);
        long Relayed() => Volatile.Read(ref session.PacketsToOrigin) + Volatile.Read(ref session.PacketsToClient);
        long ProxyCpu()
        {
            // The whole process, threads that ended included; the load runs in another process.
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            return self.TotalProcessorTime.Ticks * 100;
        }

        async Task<(double NsPerDatagram, double Rate, double Cores)> MeasureAsync(TimeSpan window)
        {
            var (datagrams, cpu) = (Relayed(), ProxyCpu());
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Task.Delay(window);
            var relayed = Relayed() - datagrams;
            var used = ProxyCpu() - cpu;
            return ((double)used / relayed, relayed / clock.Elapsed.TotalSeconds, used / (clock.Elapsed.TotalSeconds * 1e9));
        }

        // Past tier-0 JIT and the first profile's one-off costs (TraceEvent's own JIT) before measuring.
        await Task.Delay(TimeSpan.FromSeconds(3));
        (await proxy.Http.GetAsync(new Uri(proxy.Pprof!, "profile?seconds=2"))).EnsureSuccessStatusCode();
        await Task.Delay(TimeSpan.FromSeconds(2));

        var plain = new List<double>();
        var sampling = new List<double>();
        var plainCores = new List<double>();
        var samplingCores = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var without = await MeasureAsync(Window);
            plain.Add(without.NsPerDatagram);
            plainCores.Add(without.Cores);

            // The profile runs 2 s longer than the measured window, which sits inside its sampling.
            var profile = proxy.Http.GetAsync(new Uri(proxy.Pprof!, $"profile?seconds={Window.TotalSeconds + 2}"));
            await Task.Delay(TimeSpan.FromSeconds(1));
            var with = await MeasureAsync(Window);
            sampling.Add(with.NsPerDatagram);
            samplingCores.Add(with.Cores);
            var afterCpu = ProxyCpu();
            var afterClock = System.Diagnostics.Stopwatch.StartNew();
            using var response = await profile;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round + 1}: {without.NsPerDatagram:F0} ns CPU/datagram without ({without.Rate:F0}/s, {without.Cores:F3} cores), {with.NsPerDatagram:F0} while sampling ({with.Rate:F0}/s, {with.Cores:F3} cores); "
                + $"then rundown + decode: {(ProxyCpu() - afterCpu) / 1_000_000} ms CPU over {afterClock.Elapsed.TotalSeconds:F1} s"));
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        var extra = (sampling.Average() / plain.Average()) - 1;
        var extraCores = samplingCores.Average() - plainCores.Average();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"at {Load * 2} datagrams/s: CPU per relayed datagram {plain.Average():F0} ns without a profile, {sampling.Average():F0} ns while a CPU profile samples (+{extra * 100:F1}%)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"the sampling costs {extraCores:F3} cores; a relay saturating all {Environment.ProcessorCount} cores would lose {extraCores / Environment.ProcessorCount * 100:F1}% of its throughput to it"));
    }

    /// <summary>Runs only when <c>PPROF_OVERHEAD=1</c>.</summary>
    private sealed class OverheadFactAttribute : FactAttribute
    {
        public OverheadFactAttribute()
        {
            if (Environment.GetEnvironmentVariable("PPROF_OVERHEAD") != "1")
            {
                Skip = "a measurement: run scripts/pprof-overhead (PPROF_OVERHEAD=1)";
            }
        }
    }
}
