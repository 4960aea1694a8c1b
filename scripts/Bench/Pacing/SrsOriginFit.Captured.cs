namespace SrsProxy.Bench.Pacing;

// Made by `srs-proxy-bench fit-schedule srs-origin-schedule-300p.csv.gz --code` (Pacing/FitCommand.cs); do not edit by hand.
internal sealed partial record SrsOriginFit
{
    /// <summary>The fit to srs-origin-schedule-300p.csv.gz.</summary>
    public static SrsOriginFit Captured { get; } = new()
    {
        AudioPerSecond = 50.096,
        AudioBytes = new Quantiles(132, 133, 133, 133, 133, 133, 134, 134, 134, 135, 135, 136, 136, 136, 136, 136, 136, 137, 137, 140, 140, 141, 141, 141, 141, 142, 142),
        FramesPerSecond = 25.099,
        GopFrames = 50,
        FrameBytes = new Quantiles(508, 542, 570, 605, 632, 660, 683, 711, 724, 743, 757, 777, 803, 830, 858, 876, 890, 911, 938, 972, 993, 1041, 1120, 1160, 1179, 1205, 1205),
        KeyframeBytes = new Quantiles(2927, 2927, 2927, 2927, 2927, 2927, 2927, 3010, 3010, 3010, 3010, 3283, 3283, 3283, 3283, 3329, 3329, 3329, 3329, 3639, 3639, 3639, 3639, 3639, 3639, 3639, 3639),
        MaxPacketBytes = 1224,
        ParameterSetBytes = 55,
        ClumpIntervalUs = new Quantiles(4452, 4800, 4909, 7822, 11894, 19827, 21810, 23800, 29822, 31079, 35223, 38941, 40232, 40663, 41185, 41896, 42581, 45120, 50418, 50879, 51212, 52467, 53509, 54972, 57374, 68713, 68713),
        SamePlayerGapUs = new Quantiles(6, 8, 8, 9, 10, 10, 10, 10, 11, 12, 14, 16, 17, 19, 20, 20, 21, 22, 23, 25, 27, 32, 57, 74, 84, 97, 100),
        NextPlayerGapUs = new Quantiles(9, 11, 12, 12, 12, 13, 14, 14, 14, 14, 14, 15, 15, 15, 16, 17, 18, 19, 20, 22, 25, 31, 55, 73, 83, 96, 100),
        PauseUs = new Quantiles(101, 101, 102, 103, 106, 109, 112, 116, 120, 124, 131, 137, 144, 156, 168, 184, 205, 231, 266, 333, 503, 1171, 1766, 2582, 4088, 5568, 7931),
        BurstSends = new Quantiles(1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 13, 19, 28, 39, 56, 76, 97, 123, 149, 187, 232, 314, 455, 565, 650, 939, 1034),
        FeedbackPeriodSeconds = 0.999999,
        FeedbackGroupSize = 2,
        FeedbackBytes = 46,
        OtherFeedbackPerSecond = 0.1008,
        OtherFeedbackBytes = 26,
        Capture = new CaptureStats(
            300, 9.826, 225382, 6195,
            10, 16, 27, 112,
            1, 28, 232,
            76.457, 137, 227.4,
            2.102, 46),
    };
}
