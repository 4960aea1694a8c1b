using SrsProxy.Configuration;

namespace SrsProxy.Udp;

/// <summary>What one <see cref="UdpRelayEngine"/> listens on and how it treats datagrams and sessions.</summary>
internal sealed class UdpEngineOptions
{
    /// <summary>For logs and thread names: <c>rtc</c>, <c>srt</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The setting the public address comes from, named when it cannot bind.</summary>
    public required string Setting { get; init; }

    public required ListenAddress Address { get; init; }

    /// <summary>Largest datagram relayed either way; a longer one is dropped whole, never relayed cut short.</summary>
    public required int MaxDatagramSize { get; init; }

    /// <summary>Kernel receive and send buffer of the public socket.</summary>
    public required int SocketBufferBytes { get; init; }

    /// <summary>Kernel receive buffer of each session's socket towards its origin.</summary>
    public required int SessionSocketBufferBytes { get; init; }

    /// <summary>How often the protocol's sweep runs (idle sessions, dead origins).</summary>
    public required TimeSpan SweepPeriod { get; init; }

    /// <summary>
    /// The origin-to-client engine: on Linux, <see cref="UdpPump"/> threads that batch with
    /// <c>recvmmsg</c>/<c>sendmmsg</c>; elsewhere (or when a test asks), one async receive loop per session.
    /// </summary>
    public bool Batched { get; init; } = OperatingSystem.IsLinux();

    /// <summary>Pump threads of the batched engine: one per core, at most 8.</summary>
    public int PumpCount { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 8);
}
