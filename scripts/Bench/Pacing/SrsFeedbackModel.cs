namespace SrsProxy.Bench.Pacing;

/// <summary>
/// The players' upstream as captured (<see cref="SrsOriginFit"/>): each player sends a group of receiver
/// reports (one per stream, back to back) every feedback period, starting at a random point of it, and now and
/// then another datagram (exponential gaps at the captured rate). Datagrams the capture has shorter than the
/// benchmark's minimum (<see cref="MediaPacket.MinSize"/>, which carries its sequence and timestamp) are sent at
/// that minimum.
/// </summary>
internal sealed class SrsFeedbackModel : IFeedbackSchedule
{
    /// <summary>A queued event: a player's group (with how many of its datagrams are left) or other datagram (0).</summary>
    private readonly PriorityQueue<(int Slot, int Left), double> _events = new();
    private readonly SrsOriginFit _fit;
    private readonly Random _random;
    private double _previousDueUs;

    public SrsFeedbackModel(SrsOriginFit fit, IEnumerable<int> slots, Random random)
    {
        _fit = fit;
        _random = random;
        var periodUs = fit.FeedbackPeriodSeconds * 1e6;
        foreach (var slot in slots)
        {
            if (fit.FeedbackGroupSize > 0)
            {
                _events.Enqueue((slot, fit.FeedbackGroupSize), random.NextDouble() * periodUs);
            }

            if (fit.OtherFeedbackPerSecond > 0)
            {
                _events.Enqueue((slot, 0), OtherGapUs());
            }
        }
    }

    public PlannedSend Next()
    {
        if (!_events.TryDequeue(out var e, out var due))
        {
            return new PlannedSend(double.PositiveInfinity, -1, 0, double.PositiveInfinity);
        }

        int length;
        if (e.Left == 0)
        {
            length = _fit.OtherFeedbackBytes;
            _events.Enqueue(e, due + OtherGapUs());
        }
        else
        {
            length = _fit.FeedbackBytes;
            if (e.Left == _fit.FeedbackGroupSize)
            {
                _events.Enqueue(e, due + (_fit.FeedbackPeriodSeconds * 1e6));
            }

            if (e.Left > 1)
            {
                _events.Enqueue((e.Slot, e.Left - 1), due);
            }
        }

        var gap = due - _previousDueUs;
        _previousDueUs = due;
        return new PlannedSend(due, e.Slot, Math.Max(MediaPacket.MinSize, length), gap);
    }

    private double OtherGapUs() => -Math.Log(1 - _random.NextDouble()) * 1e6 / _fit.OtherFeedbackPerSecond;
}
