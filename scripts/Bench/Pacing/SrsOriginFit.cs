namespace SrsProxy.Bench.Pacing;

/// <summary>
/// The parameters of <see cref="SrsOriginModel"/>, fitted from a capture of a real SRS origin's UDP sends
/// (<see cref="Fit"/>; <c>srs-proxy-bench fit-schedule FILE</c> prints them). The built-in fit
/// <see cref="Captured"/> comes from shared/data/srs-origin-schedule-300p.csv.gz: SRS 7.0.18, one RTMP publisher
/// (H.264 ~170 kbit/s 25 fps + AAC, which SRS sends as Opus), 300 WebRTC players, 9.8 s.
/// </summary>
/// <remarks>
/// What the capture shows, and so what is fitted: every player gets the same media packets (the publisher's
/// stream), which reach the origin in clumps (the publisher's RTMP interleave); for each clump the origin visits
/// one player after another and sends it what it has not had yet (one to three packets), encrypting each, so its
/// sends are spread out. A few times a pass the origin stops for longer (another coroutine runs, a timer fires):
/// those pauses split its sends into bursts.
/// </remarks>
internal sealed partial record SrsOriginFit
{
    /// <summary>Packets this size and larger are video; smaller ones audio (Opus 20 ms is ~130-140 B).</summary>
    public const int VideoMinBytes = 200;

    /// <summary>Packets smaller than this are H.264 parameter sets (SPS/PPS in one STAP-A), sent before a keyframe.</summary>
    public const int ParameterSetMaxBytes = 100;

    /// <summary>Media packets whose first sends are closer than this reached the origin in one clump.</summary>
    public const double ClumpSplitUs = 2_000;

    /// <summary>A player's feedback datagrams closer than this are one group (its receiver reports, one per stream).</summary>
    public const double FeedbackGroupSplitUs = 1_000;

    public required double AudioPerSecond { get; init; }

    public required Quantiles AudioBytes { get; init; }

    public required double FramesPerSecond { get; init; }

    /// <summary>Frames from one keyframe to the next.</summary>
    public required int GopFrames { get; init; }

    /// <summary>Bytes on the wire of a frame that is not a keyframe (all its packets).</summary>
    public required Quantiles FrameBytes { get; init; }

    public required Quantiles KeyframeBytes { get; init; }

    /// <summary>A frame is sent in packets of at most this many bytes (the largest video packet seen).</summary>
    public required int MaxPacketBytes { get; init; }

    public required int ParameterSetBytes { get; init; }

    /// <summary>Time between two clumps of media reaching the origin.</summary>
    public required Quantiles ClumpIntervalUs { get; init; }

    /// <summary>Gap between two sends to the same player, while the origin is busy (100 µs or less).</summary>
    public required Quantiles SamePlayerGapUs { get; init; }

    /// <summary>Gap between the last send to one player and the first to the next (100 µs or less).</summary>
    public required Quantiles NextPlayerGapUs { get; init; }

    /// <summary>Gaps over 100 µs while the origin still had sends queued: what ends a burst.</summary>
    public required Quantiles PauseUs { get; init; }

    /// <summary>
    /// Sends between two gaps over 100 µs: the capture's burst sizes as they are. The model ends a burst with a
    /// pause, or earlier when the origin runs out of sends; fitting only the bursts a pause ended made them
    /// shorter than captured (median 22, not 28), since the long ones are the ones an idle origin cuts short.
    /// </summary>
    public required Quantiles BurstSends { get; init; }

    /// <summary>Each player sends a group of feedback datagrams (a receiver report per stream) this often.</summary>
    public required double FeedbackPeriodSeconds { get; init; }

    public required int FeedbackGroupSize { get; init; }

    public required int FeedbackBytes { get; init; }

    /// <summary>The player's other upstream datagrams (neither in a group nor of the group's size), per second.</summary>
    public required double OtherFeedbackPerSecond { get; init; }

    public required int OtherFeedbackBytes { get; init; }

    /// <summary>The capture's own figures, to set the model and the sender against.</summary>
    public required CaptureStats Capture { get; init; }

    /// <summary>
    /// The most <see cref="ScaledTo"/> scales to. The model keeps 4,096 packets per player: at 100 Mbit/s that
    /// still holds its 250 ms of media (about 10,500 packets/s) and the largest keyframe (about 1,700 packets).
    /// </summary>
    public const double MaxBitsPerSecond = 100e6;

    /// <summary>
    /// How much the video frames (keyframes and the others alike) were scaled from the fit's by
    /// <see cref="ScaledTo"/>; 1 when they are as captured.
    /// </summary>
    public double VideoScale { get; init; } = 1;

    /// <summary>
    /// Media bits per second per player the model sends (UDP payload, as the capture's lengths count it): audio,
    /// parameter sets, and each frame as its packets, the last one at least <see cref="MediaPacket.MinSize"/>.
    /// </summary>
    public double MediaBitsPerSecondPerPlayer =>
        8 * ((AudioPerSecond * AudioBytes.Mean()) +
            (FramesPerSecond * (((GopFrames - 1) * WireBytesPerFrame(FrameBytes)) + WireBytesPerFrame(KeyframeBytes) + ParameterSetBytes) / GopFrames));

    /// <summary>
    /// The lowest bitrate <see cref="ScaledTo"/> reaches: the audio and parameter sets as captured, and video
    /// frames scaled down until the smallest is one <see cref="MediaPacket.MinSize"/> packet.
    /// </summary>
    public double MinBitsPerSecond => WithVideoScale(MinVideoScale).MediaBitsPerSecondPerPlayer;

    private double MinVideoScale => MediaPacket.MinSize / Math.Max(1, Math.Min(FrameBytes.Values[0], KeyframeBytes.Values[0]));

    /// <summary>
    /// This fit with its video at <paramref name="bitsPerSecond"/> of media per player in all: the audio and
    /// parameter sets as they are, every video frame (keyframe or not) scaled by one factor, so that a frame
    /// larger than a packet is split into more <see cref="MaxPacketBytes"/> packets, as the model splits a
    /// keyframe. Clumps, fan-out gaps, pauses and bursts stay as fitted.
    /// </summary>
    public SrsOriginFit ScaledTo(double bitsPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bitsPerSecond, Math.Floor(MinBitsPerSecond));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bitsPerSecond, MaxBitsPerSecond);

        // The bitrate grows with the scale (a frame's packets only add bytes as it grows), so bisect.
        var low = MinVideoScale;
        var high = Math.Max(1, low);
        while (WithVideoScale(high).MediaBitsPerSecondPerPlayer < bitsPerSecond)
        {
            low = high;
            high *= 2;
        }

        for (var i = 0; i < 60 && high - low > 1e-9 * high; i++)
        {
            var middle = (low + high) / 2;
            if (WithVideoScale(middle).MediaBitsPerSecondPerPlayer < bitsPerSecond)
            {
                low = middle;
            }
            else
            {
                high = middle;
            }
        }

        return WithVideoScale(high);
    }

    private SrsOriginFit WithVideoScale(double scale) => this with
    {
        FrameBytes = FrameBytes.Scaled(scale / VideoScale),
        KeyframeBytes = KeyframeBytes.Scaled(scale / VideoScale),
        VideoScale = scale,
    };

    /// <summary>Media datagrams per second per player the model sends: audio, video packets, parameter sets.</summary>
    public double MediaPerSecondPerPlayer =>
        AudioPerSecond + (FramesPerSecond * (((GopFrames - 1) * PacketsPerFrame(FrameBytes)) + PacketsPerFrame(KeyframeBytes) + 1) / GopFrames);

    public double FeedbackPerSecondPerPlayer => (FeedbackGroupSize / FeedbackPeriodSeconds) + OtherFeedbackPerSecond;

    /// <summary>Fits the model to a capture (see the remarks of the type for what is measured).</summary>
    public static SrsOriginFit Fit(ScheduleCapture capture)
    {
        var sends = new List<int>[capture.Players];
        for (var p = 0; p < sends.Length; p++)
        {
            sends[p] = [];
        }

        for (var i = 0; i < capture.Count; i++)
        {
            if (capture.Down[i])
            {
                sends[capture.PlayerOf[i]].Add(i);
            }
        }

        var receiving = sends.Where(s => s.Count > 0).ToArray();
        var reference = receiving.MaxBy(s => s.Count)!;
        var media = receiving.Min(s => s.Count);

        // Every player receives the same packets: the m-th send to each player is the m-th media packet, which
        // reached the origin about when its first copy went out.
        var first = new double[media];
        var sizes = new int[media];
        for (var m = 0; m < media; m++)
        {
            first[m] = receiving.Min(s => capture.TimesUs[s[m]]);
            sizes[m] = capture.Lengths[reference[m]];
        }

        var seconds = (first[^1] - first[0]) / 1e6;
        var audio = new List<double>();
        var frames = new List<double>();
        var keyframes = new List<double>();
        var keyframeAt = new List<int>();
        var parameterSets = new List<double>();
        var maxPacket = sizes.Where(s => s >= VideoMinBytes).DefaultIfEmpty(1200).Max();
        var frame = 0;
        var isKey = false;
        foreach (var size in sizes)
        {
            if (size < ParameterSetMaxBytes)
            {
                parameterSets.Add(size);
                isKey = true;
            }
            else if (size < VideoMinBytes)
            {
                audio.Add(size);
            }
            else
            {
                frame += size;
                if (size < maxPacket)
                {
                    if (isKey)
                    {
                        keyframeAt.Add(frames.Count + keyframes.Count);
                        keyframes.Add(frame);
                    }
                    else
                    {
                        frames.Add(frame);
                    }

                    frame = 0;
                    isKey = false;
                }
            }
        }

        var gop = keyframeAt.Count >= 2
            ? (int)Math.Round(Median(keyframeAt.Zip(keyframeAt.Skip(1), (a, b) => (double)(b - a)).ToList()))
            : frames.Count + keyframes.Count;

        var clumps = new List<double>();
        var clumpStart = first[0];
        for (var m = 1; m < media; m++)
        {
            if (first[m] - first[m - 1] > ClumpSplitUs)
            {
                clumps.Add(first[m] - clumpStart);
                clumpStart = first[m];
            }
        }

        var (same, next, pauses, bursts) = FitFanOut(capture, sends, first, media);
        var (period, groupSize, groupBytes, otherRate, otherBytes) = FitFeedback(capture);
        return new SrsOriginFit
        {
            AudioPerSecond = audio.Count / seconds,
            AudioBytes = Quantiles.Of(audio),
            FramesPerSecond = (frames.Count + keyframes.Count) / seconds,
            GopFrames = Math.Max(1, gop),
            FrameBytes = Quantiles.Of(frames),
            KeyframeBytes = Quantiles.Of(keyframes.Count > 0 ? keyframes : [.. frames]),
            MaxPacketBytes = maxPacket,
            ParameterSetBytes = parameterSets.Count > 0 ? (int)Median(parameterSets) : 0,
            ClumpIntervalUs = Quantiles.Of(clumps),
            SamePlayerGapUs = Quantiles.Of(same),
            NextPlayerGapUs = Quantiles.Of(next),
            PauseUs = Quantiles.Of(pauses),
            BurstSends = Quantiles.Of(bursts),
            FeedbackPeriodSeconds = period,
            FeedbackGroupSize = groupSize,
            FeedbackBytes = groupBytes,
            OtherFeedbackPerSecond = otherRate,
            OtherFeedbackBytes = otherBytes,
            Capture = CaptureStats.Of(capture),
        };
    }

    /// <summary>
    /// The gaps of the fan-out. After each send, the origin is busy when some player still lacks a media
    /// packet whose first copy has gone out; gaps of a busy origin are fitted, gaps of an idle one (waiting for
    /// the next clump) are not: the clumps make those. Bursts are all the capture's.
    /// </summary>
    private static (List<double> Same, List<double> Next, List<double> Pauses, List<double> Bursts) FitFanOut(
        ScheduleCapture capture, List<int>[] sends, double[] first, int media)
    {
        var receivers = new long[media];
        foreach (var s in sends)
        {
            for (var m = 0; m < Math.Min(media, s.Count); m++)
            {
                receivers[m]++;
            }
        }

        var byArrival = Enumerable.Range(0, media).OrderBy(m => first[m]).ToArray();
        var same = new List<double>();
        var next = new List<double>();
        var pauses = new List<double>();
        var bursts = new List<double>();
        long available = 0, sent = 0;
        var arrived = 0;
        var busy = false;
        var burst = 0;
        var previous = -1;
        for (var i = 0; i < capture.Count; i++)
        {
            if (!capture.Down[i])
            {
                continue;
            }

            var t = capture.TimesUs[i];
            if (previous >= 0)
            {
                var gap = (double)(t - capture.TimesUs[previous]);
                if (gap > CaptureStats.BurstSplitUs)
                {
                    if (busy)
                    {
                        pauses.Add(gap);
                    }

                    bursts.Add(burst);

                    burst = 0;
                }
                else if (busy)
                {
                    (capture.PlayerOf[i] == capture.PlayerOf[previous] ? same : next).Add(gap);
                }
            }

            while (arrived < media && first[byArrival[arrived]] <= t)
            {
                available += receivers[byArrival[arrived++]];
            }

            sent++;
            burst++;
            busy = available > sent;
            previous = i;
        }

        return (same, next, pauses, bursts);
    }

    private static (double Period, int GroupSize, int Bytes, double OtherPerSecond, int OtherBytes) FitFeedback(ScheduleCapture capture)
    {
        var lengths = new Dictionary<int, int>();
        for (var i = 0; i < capture.Count; i++)
        {
            if (!capture.Down[i])
            {
                lengths[capture.Lengths[i]] = lengths.GetValueOrDefault(capture.Lengths[i]) + 1;
            }
        }

        if (lengths.Count == 0)
        {
            return (1, 0, MediaPacket.MinSize, 0, MediaPacket.MinSize);
        }

        var bytes = lengths.MaxBy(l => l.Value).Key;
        var lastSend = new Dictionary<int, long>();
        var groupStart = new Dictionary<int, long>();
        var groupSizes = new List<double>();
        var periods = new List<double>();
        var groupCount = new Dictionary<int, int>();
        var others = new List<double>();
        for (var i = 0; i < capture.Count; i++)
        {
            if (capture.Down[i])
            {
                continue;
            }

            var player = capture.PlayerOf[i];
            var t = capture.TimesUs[i];
            if (capture.Lengths[i] != bytes)
            {
                others.Add(capture.Lengths[i]);
                continue;
            }

            if (lastSend.TryGetValue(player, out var last) && t - last <= FeedbackGroupSplitUs)
            {
                groupCount[player]++;
            }
            else
            {
                if (groupStart.TryGetValue(player, out var start))
                {
                    periods.Add(t - start);
                    groupSizes.Add(groupCount[player]);
                }

                groupStart[player] = t;
                groupCount[player] = 1;
            }

            lastSend[player] = t;
        }

        var perPlayerSecond = Math.Max(1, capture.Players) * Math.Max(1e-6, capture.DurationUs / 1e6);
        return (periods.Count > 0 ? Median(periods) / 1e6 : 1,
            groupSizes.Count > 0 ? (int)Math.Round(Median(groupSizes)) : 1,
            bytes,
            others.Count / perPlayerSecond,
            others.Count > 0 ? (int)Median(others) : bytes);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return Quantiles.At(values, 0.5);
    }

    /// <summary>
    /// The mean bytes on the wire of a frame of the given size distribution, split as the model splits it:
    /// whole packets of <see cref="MaxPacketBytes"/> and the rest, which is sent as at least
    /// <see cref="MediaPacket.MinSize"/> bytes.
    /// </summary>
    private double WireBytesPerFrame(Quantiles frameBytes)
    {
        const int Steps = 1000;
        var sum = 0.0;
        for (var i = 0; i < Steps; i++)
        {
            var bytes = Math.Round(frameBytes.ValueAt((i + 0.5) / Steps));
            var whole = bytes > MaxPacketBytes ? Math.Ceiling(bytes / MaxPacketBytes) - 1 : 0;
            sum += (whole * MaxPacketBytes) + Math.Max(MediaPacket.MinSize, bytes - (whole * MaxPacketBytes));
        }

        return sum / Steps;
    }

    /// <summary>The mean number of packets a frame of the given size distribution is split into.</summary>
    private double PacketsPerFrame(Quantiles frameBytes)
    {
        const int Steps = 1000;
        var sum = 0.0;
        for (var i = 0; i < Steps; i++)
        {
            sum += Math.Ceiling(frameBytes.ValueAt((i + 0.5) / Steps) / MaxPacketBytes);
        }

        return sum / Steps;
    }
}
