namespace SrsProxy.Bench.Pacing;

/// <summary>What the origin simulator sends when, to which player: one datagram at a time, on the sender thread.</summary>
internal interface IOriginSchedule
{
    /// <summary>
    /// The next datagram. <paramref name="previousSendUs"/> is when the previous one was actually sent (a real
    /// origin's next send follows its previous one, not a clock); <paramref name="players"/> is how many
    /// players are bound now (slots 0 to players - 1).
    /// </summary>
    PlannedSend Next(double previousSendUs, int players);

    /// <summary>Datagrams the schedule gave up on because the sender fell too far behind (see the implementation).</summary>
    long Skipped => 0;

    /// <summary>
    /// How late the sender may run before it stops catching up and shifts the schedule's clock instead (the
    /// schedule pauses for as long as the sender was held up). Defaults to a second, as much media as an
    /// origin would drain at once.
    /// </summary>
    double CatchUpLimitUs => 1e6;
}
