namespace SrsProxy.Hosting;

/// <summary>
/// One kind of work a drain waits for (WebRTC sessions, RTMP connections, SRT sessions, HTTP streams), read
/// when the drain asks. The composition root registers one per component, so the drain knows nothing of
/// protocols and a component needs nothing but a live count.
/// </summary>
internal sealed class DrainableCount(string name, Func<int> count)
{
    /// <summary>The label in logs, the drain's JSON and metrics: <c>webrtc</c>, <c>rtmp</c>, <c>srt</c>, <c>http_stream</c>.</summary>
    public string Name { get; } = name;

    public int Count => count();
}
