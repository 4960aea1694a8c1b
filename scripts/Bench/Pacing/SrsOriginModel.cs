namespace SrsProxy.Bench.Pacing;

/// <summary>
/// Sends like the captured SRS origin (<see cref="SrsOriginFit"/>): media reaches the origin in clumps
/// (audio and video clocked at the fit's rates and sizes, a keyframe with its parameter sets every GOP);
/// the origin then visits one player after another and sends it every packet it has not had yet, with the
/// captured gaps between sends to the same player and to the next one; after a burst of the captured size it
/// pauses for a captured pause. A clump that arrives mid-pass is picked up by the players not yet visited, as
/// SRS's per-player queues do. Gaps follow the previous actual send; clumps follow the clock, so the media rate
/// holds even when a pass runs late.
/// </summary>
internal sealed class SrsOriginModel : IOriginSchedule
{
    /// <summary>Packets kept for players that have not had them: more than <see cref="MaxBehindSeconds"/> of media.</summary>
    private const int Backlog = 4096;

    /// <summary>
    /// A player further behind than this much media skips ahead. A pass over the players holds one to a few
    /// clumps (tens of milliseconds); a sender that falls further behind (descheduled while players connect,
    /// say) would otherwise send its backlog later, in the measured window, above the media's rate.
    /// </summary>
    private const double MaxBehindSeconds = 0.25;

    private readonly SrsOriginFit _fit;
    private readonly Random _random;
    private readonly int[] _packets = new int[Backlog];
    private readonly long _maxBehind;
    private long[] _cursors = [];
    private long _produced;
    private int _players;
    private int _slot;
    private int _lastSlot = -1;
    private int _burstLeft;
    private double _nextClumpUs;
    private double _audioUs;
    private double _videoUs;
    private long _frame;

    public SrsOriginModel(SrsOriginFit fit, Random random)
    {
        _fit = fit;
        _random = random;
        _maxBehind = Math.Clamp((long)Math.Ceiling(fit.MediaPerSecondPerPlayer * MaxBehindSeconds), 16, Backlog);
        _nextClumpUs = fit.ClumpIntervalUs.Sample(random) * random.NextDouble();
        _audioUs = 0;

        // Audio and video frames are not aligned; start video half a frame later.
        _videoUs = 0.5e6 / fit.FramesPerSecond;
    }

    /// <summary>Packets a player fell more than <see cref="MaxBehindSeconds"/> behind on and never got.</summary>
    public long Skipped { get; private set; }

    public PlannedSend Next(double previousSendUs, int players)
    {
        AddPlayers(players);
        Arrive(previousSendUs);
        double gap;
        if (FindPending(out var slot))
        {
            if (_burstLeft <= 0)
            {
                gap = _fit.PauseUs.Sample(_random);
                _burstLeft = SampleBurst();
            }
            else
            {
                gap = (slot == _lastSlot ? _fit.SamePlayerGapUs : _fit.NextPlayerGapUs).Sample(_random);
            }
        }
        else
        {
            // Idle until the next clump; its pass starts a burst with the first player.
            var due = Math.Max(previousSendUs, _nextClumpUs);
            Arrive(due);
            _slot = 0;
            _lastSlot = -1;
            _burstLeft = SampleBurst();
            if (!FindPending(out slot))
            {
                return new PlannedSend(due, -1, 0, due - previousSendUs);
            }

            gap = due - previousSendUs;
        }

        _burstLeft--;
        var behind = _produced - _cursors[slot];
        if (behind > _maxBehind)
        {
            Skipped += behind - _maxBehind;
            _cursors[slot] = _produced - _maxBehind;
        }

        var length = _packets[_cursors[slot]++ % Backlog];
        _lastSlot = slot;
        _slot = _cursors[slot] == _produced ? slot + 1 : slot;
        return new PlannedSend(previousSendUs + gap, slot, length, gap);
    }

    private int SampleBurst() => Math.Max(1, (int)Math.Round(_fit.BurstSends.Sample(_random)));

    /// <summary>A player who joins gets media from now on, as a new consumer of a live stream does.</summary>
    private void AddPlayers(int players)
    {
        if (players <= _players)
        {
            _players = players;
            return;
        }

        if (players > _cursors.Length)
        {
            Array.Resize(ref _cursors, Math.Max(players, _cursors.Length * 2));
        }

        for (var p = _players; p < players; p++)
        {
            _cursors[p] = _produced;
        }

        _players = players;
    }

    /// <summary>From the players' pass position on, the first player that lacks a packet.</summary>
    private bool FindPending(out int slot)
    {
        for (var i = 0; i < _players; i++)
        {
            slot = (_slot + i) % _players;
            if (_cursors[slot] < _produced)
            {
                return true;
            }
        }

        slot = -1;
        return false;
    }

    /// <summary>Every clump that has reached the origin by <paramref name="nowUs"/>: the media due by its arrival.</summary>
    private void Arrive(double nowUs)
    {
        while (_nextClumpUs <= nowUs)
        {
            var at = _nextClumpUs;
            while (Math.Min(_audioUs, _videoUs) <= at)
            {
                if (_audioUs <= _videoUs)
                {
                    Produce((int)Math.Round(_fit.AudioBytes.Sample(_random)));
                    _audioUs += 1e6 / _fit.AudioPerSecond;
                }
                else
                {
                    ProduceFrame();
                    _videoUs += 1e6 / _fit.FramesPerSecond;
                }
            }

            _nextClumpUs += Math.Max(1, _fit.ClumpIntervalUs.Sample(_random));
        }
    }

    private void ProduceFrame()
    {
        var key = _frame++ % _fit.GopFrames == 0;
        if (key && _fit.ParameterSetBytes > 0)
        {
            Produce(_fit.ParameterSetBytes);
        }

        var bytes = (int)Math.Round((key ? _fit.KeyframeBytes : _fit.FrameBytes).Sample(_random));
        while (bytes > _fit.MaxPacketBytes)
        {
            Produce(_fit.MaxPacketBytes);
            bytes -= _fit.MaxPacketBytes;
        }

        Produce(Math.Max(MediaPacket.MinSize, bytes));
    }

    private void Produce(int length) => _packets[_produced++ % Backlog] = length;
}
