namespace SrsProxy.Bench.Pacing;

/// <summary>
/// Replays one direction of a capture exactly, looped: each datagram at its captured time (microseconds after
/// the sender started, plus one capture period per loop), with its captured length. Captured player i goes to
/// player i mod N, so with N at most the capture's players the relay carries the captured traffic datagram for
/// datagram, several captured players sharing one session when N is smaller. With N larger, player j gets
/// captured player j mod C's datagrams: each captured datagram goes to every such player, back to back.
/// A sender held up for more than <see cref="CatchUpLimitUs"/> pauses the replay rather than catching up.
/// </summary>
internal sealed class CaptureReplay : IOriginSchedule, IFeedbackSchedule
{
    private readonly ScheduleCapture _capture;
    private readonly int[] _rows;
    private readonly int _players;
    private readonly double _periodUs;
    private int _next;
    private long _loop;
    private int _copySlot = -1;
    private PlannedSend _copyOf;
    private double _previousDueUs;

    public CaptureReplay(ScheduleCapture capture, bool down, int players)
    {
        _capture = capture;
        _players = players;
        _rows = [.. Enumerable.Range(0, capture.Count).Where(i => capture.Down[i] == down)];

        // One loop lasts the capture plus one average gap, so the loop's seam looks like any other gap.
        _periodUs = capture.DurationUs + (capture.DurationUs / (double)Math.Max(1, capture.Count - 1));
    }

    /// <summary>Datagrams per second the replay sends in total (all players).</summary>
    public double PerSecond => _rows.Length * Copies / (_periodUs / 1e6);

    /// <summary>Bytes per second the replay sends in total (all players), each datagram at least <see cref="MediaPacket.MinSize"/>.</summary>
    public double BytesPerSecond => _rows.Sum(row => (double)Math.Max(MediaPacket.MinSize, _capture.Lengths[row])) * Copies / (_periodUs / 1e6);

    /// <summary>How captured players map onto the benchmark's.</summary>
    public string Mapping => _players <= _capture.Players
        ? $"captured player i -> player i mod {_players}"
        : $"player j <- captured player j mod {_capture.Players} (each captured datagram sent to {_players / (double)_capture.Players:0.##} players on average, back to back)";

    private double Copies => _players <= _capture.Players ? 1 : _players / (double)_capture.Players;

    /// <summary>
    /// A millisecond: sending a backlog back to back would replace the captured gaps, which are what a replay is
    /// for, with none; so a sender held up longer pauses the replay instead (the report counts it).
    /// </summary>
    public double CatchUpLimitUs => 1_000;

    public PlannedSend Next(double previousSendUs, int players) => Next();

    public PlannedSend Next()
    {
        if (_rows.Length == 0)
        {
            return new PlannedSend(double.PositiveInfinity, -1, 0, double.PositiveInfinity);
        }

        // More players than the capture: the same datagram to the next player that maps to the same captured one.
        if (_copySlot >= 0)
        {
            var slot = _copySlot;
            _copySlot = slot + _capture.Players < _players ? slot + _capture.Players : -1;
            return _copyOf with { Slot = slot, GapUs = 0 };
        }

        var row = _rows[_next];
        var due = (_loop * _periodUs) + (_capture.TimesUs[row] - _capture.TimesUs[0]);
        if (++_next == _rows.Length)
        {
            _next = 0;
            _loop++;
        }

        var player = _capture.PlayerOf[row];
        var send = new PlannedSend(due, player % _players, Math.Max(MediaPacket.MinSize, _capture.Lengths[row]), due - _previousDueUs);
        _previousDueUs = due;
        if (_players > _capture.Players && player + _capture.Players < _players)
        {
            _copySlot = player + _capture.Players;
            _copyOf = send;
        }

        return send;
    }
}
