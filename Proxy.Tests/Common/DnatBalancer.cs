using System.Diagnostics;
using System.Net;

namespace SrsProxy.Tests.Common;

/// <summary>
/// An L4 balancer in front of proxy instances, as an nftables DNAT rule: UDP to a virtual address and port goes
/// to one instance, until <see cref="PointAtAsync"/> moves it (and forgets the flows conntrack pinned to the old
/// one, as a balancer that noticed a dead backend does). Locally generated traffic meets the rule in the
/// output hook, so players on this machine go through it. Only inside the network namespace that
/// <c>scripts/test</c> makes (<c>scripts/netns-run</c>): the rule never touches the machine's own tables.
/// </summary>
internal sealed class DnatBalancer : IAsyncDisposable
{
    private readonly string _table = $"srs_proxy_lb_{Environment.ProcessId}_{Random.Shared.Next(1_000_000)}";

    private DnatBalancer(IPEndPoint virtualEndPoint) => Virtual = virtualEndPoint;

    public IPEndPoint Virtual { get; }

    public static async Task<DnatBalancer> StartAsync(IPEndPoint virtualEndPoint, IPEndPoint target)
    {
        Assert.True(Environment.GetEnvironmentVariable("NETNS_RUN_ACTIVE") == "1",
            "this test changes nftables rules: run it through scripts/test, which runs the tests in a network namespace of their own");
        var balancer = new DnatBalancer(virtualEndPoint);
        await RunAsync("nft", "add", "table", "ip", balancer._table);
        await RunAsync("nft", "add", "chain", "ip", balancer._table, "out", "{ type nat hook output priority -100; }");
        await balancer.PointAtAsync(target);
        return balancer;
    }

    /// <summary>Sends the virtual address's traffic to <paramref name="target"/> from now on, flows already seen included.</summary>
    public async Task PointAtAsync(IPEndPoint target)
    {
        await RunAsync("nft", "flush", "chain", "ip", _table, "out");
        await RunAsync("nft", "add", "rule", "ip", _table, "out", "ip", "daddr", Virtual.Address.ToString(), "udp", "dport",
            Virtual.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "dnat", "to", target.ToString());

        // conntrack keeps each flow on the backend its first packet went to; a balancer moving away from a dead
        // backend drops those entries. Exit code 1: there were none.
        await RunAsync([0, 1], "conntrack", "-D", "-p", "udp", "--orig-dst", Virtual.Address.ToString());
    }

    public async ValueTask DisposeAsync() => await RunAsync([0, 1], "nft", "delete", "table", "ip", _table);

    private static Task RunAsync(string file, params string[] arguments) => RunAsync([0], file, arguments);

    private static async Task RunAsync(int[] expected, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(expected.Contains(process.ExitCode), $"{file} {string.Join(' ', arguments)}: exit {process.ExitCode}: {await stderr}");
    }
}
