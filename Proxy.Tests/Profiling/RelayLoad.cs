using System.Diagnostics;
using System.Net;
using System.Text.Json;
using SrsProxy.Registry;
using SrsProxy.Tests.Common;
using SrsProxy.Tests.Registry;
using SrsProxy.Tests.WebRtc.Relay;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// UDP load through a running relay, from another process (<c>Peers/udp-load.mjs</c>), so that a profile of
/// the proxy shows the relay rather than the load generator: one session opened on the relay, a player that
/// sends a STUN binding request and then RTP-like datagrams at a set rate, and an origin that echoes every
/// datagram back, so both directions of the relay work.
/// </summary>
internal sealed class RelayLoad : IAsyncDisposable
{
    private const string Password = "profiling-ice-password";
    private readonly Process _process;
    private long _sent;
    private long _echoed;
    private long _received;

    private RelayLoad(Process process) => _process = process;

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Datagrams that reached the origin through the relay.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    /// <summary>Datagrams that made the whole round trip: player, relay, origin, relay, player.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Opens a session on <paramref name="relay"/> (its origin registered as <paramref name="name"/>) and starts the load.</summary>
    /// <param name="relay">The running relay.</param>
    /// <param name="registry">The relay's registry, where the session's origin and record go.</param>
    /// <param name="perSecond">Datagrams per second from the player.</param>
    /// <param name="name">The origin's name and the session's ICE ufrag; distinct per load on one relay.</param>
    public static async Task<RelayLoad> StartAsync(RtcRelay relay, IProxyRegistry registry, int perSecond, string name = "load")
    {
        var process = Peers.StartNode("udp-load.mjs", ["--rate", perSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)], redirectInput: true);
        process.StandardInput.AutoFlush = true;
        var load = new RelayLoad(process);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var ready = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (ready is null || !ready.StartsWith("READY ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"udp-load.mjs did not start: {ready} {await process.StandardError.ReadToEndAsync()}");
            }

            var originPort = JsonDocument.Parse(ready["READY ".Length..]).RootElement.GetProperty("origin").GetInt32();
            var origin = MemoryRegistryTests.Origin(name);
            await registry.RegisterOriginAsync(origin, default);
            var record = new RtcSessionRecord
            {
                Id = Guid.NewGuid().ToString("N"), Kind = "whep", StreamKey = $"__defaultVhost__/live/{name}", OriginId = origin.Id,
                Username = $"{name}:player", IcePassword = Password, RelayHost = "127.0.0.1", RelayPort = originPort,
            };
            await registry.AddRtcSessionAsync(record, default);
            if (!relay.TryOpen(record, new IPEndPoint(IPAddress.Loopback, originPort), out _))
            {
                throw new InvalidOperationException("relay refused the load session");
            }

            _ = Task.Run(load.ReadStatsAsync);
            var stun = Convert.ToHexString(StunMessageTests.Build(record.Username, Password));
            await process.StandardInput.WriteLineAsync($"START {relay.LocalEndPoint.Port} {stun}");
            return load;
        }
        catch
        {
            await load.DisposeAsync();
            throw;
        }
    }

    private async Task ReadStatsAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("STATS ", StringComparison.Ordinal))
            {
                continue;
            }

            var stats = JsonDocument.Parse(line["STATS ".Length..]).RootElement;
            Interlocked.Exchange(ref _sent, stats.GetProperty("sent").GetInt64());
            Interlocked.Exchange(ref _echoed, stats.GetProperty("echoed").GetInt64());
            Interlocked.Exchange(ref _received, stats.GetProperty("received").GetInt64());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
