namespace SrsProxy.Bench.Pacing;

/// <summary>How the origin simulator spaces its sends (<c>--pacing</c>, <c>--origin-schedule</c>).</summary>
internal enum PacingMode
{
    /// <summary>
    /// Like a real SRS origin (the default): each media packet goes to one player after another, with the gaps
    /// and bursts of <see cref="SrsOriginFit.Captured"/>, the captured audio and video, and the players'
    /// feedback as captured.
    /// </summary>
    Srs,

    /// <summary>The earlier simulator: every tick, each player's datagrams back to back at a fixed rate and size.</summary>
    Burst,

    /// <summary>A capture replayed exactly, looped (<see cref="CaptureReplay"/>).</summary>
    Replay,
}
