namespace SrsProxy.Grpc;

/// <summary>
/// The service names <c>grpc.health.v1.Health</c> answers for (README, "gRPC"). Each is also the tag of the
/// health checks that decide it; the overall name <c>""</c> takes every check.
/// </summary>
internal static class HealthServiceNames
{
    /// <summary>The whole instance: serving only when ready for new work (listeners bound, registry answering, no drain) and every part serves.</summary>
    public const string Overall = "";

    /// <summary>The process answers: a liveness probe's name, since it stays serving through a drain (restarting a draining instance would cut its players).</summary>
    public const string Alive = "alive";

    /// <summary>The registry answers (memory always; Redis within a second).</summary>
    public const string Registry = "registry";

    /// <summary>The WebRTC relay's UDP port is bound and takes new sessions (not draining).</summary>
    public const string WebRtc = "webrtc";

    /// <summary>The RTMP listener accepts (it closes when a drain begins).</summary>
    public const string Rtmp = "rtmp";

    /// <summary>The SRT relay's UDP port is bound and takes new sessions (not draining).</summary>
    public const string Srt = "srt";

    /// <summary>Every name but the overall one.</summary>
    public static readonly string[] Parts = [Alive, Registry, WebRtc, Rtmp, Srt];
}
