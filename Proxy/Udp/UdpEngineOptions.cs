using SrsProxy.Configuration;

namespace SrsProxy.Udp;

/// <summary>What one <see cref="UdpRelayEngine"/> listens on and how it treats datagrams and sessions.</summary>
/// <param name="Name">For logs and thread names: <c>rtc</c>, <c>srt</c>.</param>
/// <param name="Setting">The setting the public address comes from, named when it cannot bind.</param>
/// <param name="Address">The public address.</param>
/// <param name="MaxDatagramSize">Largest datagram relayed either way; a longer one is dropped whole, never relayed cut short.</param>
/// <param name="SocketBufferBytes">Kernel receive and send buffer of the public socket.</param>
/// <param name="SessionSocketBufferBytes">Kernel receive buffer of each session's socket towards its origin.</param>
/// <param name="SweepPeriod">How often the protocol's sweep runs (idle sessions, dead origins).</param>
internal sealed record UdpEngineOptions(
    string Name,
    string Setting,
    ListenAddress Address,
    int MaxDatagramSize,
    int SocketBufferBytes,
    int SessionSocketBufferBytes,
    TimeSpan SweepPeriod)
{
    /// <summary>
    /// The origin-to-client engine: on Linux, <see cref="UdpPump"/> threads that batch with
    /// <c>recvmmsg</c>/<c>sendmmsg</c>; elsewhere (or when a test asks), one async receive loop per session.
    /// </summary>
    public bool Batched { get; init; } = OperatingSystem.IsLinux();

    /// <summary>Pump threads of the batched engine: one per core, at most 8.</summary>
    public int PumpCount { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <summary>
    /// Batched engine: how long a pump lets datagrams accumulate after each wake-up's work before it takes
    /// them (see <see cref="UdpPump"/>). Zero: take each as soon as it arrives.
    /// </summary>
    public TimeSpan Coalesce { get; init; }

    /// <summary>Batched engine: how the pump threads are scheduled (see <see cref="PumpPriority"/>).</summary>
    public PumpPriority Priority { get; init; }
}
