namespace SrsProxy.Bench.Report;

/// <summary>
/// How the origin simulator sent over the steady window: the gaps and bursts its schedule planned, those it
/// achieved (measured before each send), and the capture's own, so a reader can see the pacing was honoured.
/// </summary>
internal sealed record PacingFigures
{
    public required string Pacing { get; init; }

    public required string Description { get; init; }

    public required long Sends { get; init; }

    public required double SendsPerSecond { get; init; }

    /// <summary>The capture the pacing was fitted to or replays (its players may differ from the run's).</summary>
    public GapFigures? Capture { get; init; }

    /// <summary>What the schedule asked for; null for burst pacing, which has no per-datagram plan.</summary>
    public GapFigures? Planned { get; init; }

    public required GapFigures Achieved { get; init; }

    /// <summary>How late sends were against their due time; null for burst pacing.</summary>
    public double? LateP50Us { get; init; }

    public double? LateP99Us { get; init; }

    public double? LateMaxUs { get; init; }

    /// <summary>Times the sender fell further behind than its schedule allows and shifted the schedule.</summary>
    public required long Rebased { get; init; }

    /// <summary>Datagrams not sent because a player fell too far behind the media (srs pacing).</summary>
    public required long Skipped { get; init; }
}

/// <summary>Gaps between consecutive origin sends (µs) and bursts split at gaps over 100 µs (sends).</summary>
internal sealed record GapFigures(double P10, double P50, double P90, double P99, double BurstP10, double BurstP50, double BurstP90);
