namespace SrsProxy.Registry;

/// <summary>
/// The load-balancing rule for a stream with no live affinity: the alive origin with the fewest active
/// sessions, random among equals (so origins that start together fill evenly). The reference picks at
/// random, which piles streams onto one origin by chance.
/// </summary>
internal static class OriginPicker
{
    public static OriginServer? Pick(IReadOnlyList<(OriginServer Origin, int ActiveSessions)> alive, Random random)
    {
        if (alive.Count == 0)
        {
            return null;
        }

        var fewest = int.MaxValue;
        foreach (var (_, sessions) in alive)
        {
            fewest = Math.Min(fewest, sessions);
        }

        // Reservoir choice among the least loaded, without building a list.
        OriginServer? chosen = null;
        var seen = 0;
        foreach (var (origin, sessions) in alive)
        {
            if (sessions == fewest && random.Next(++seen) == 0)
            {
                chosen = origin;
            }
        }

        return chosen;
    }
}
