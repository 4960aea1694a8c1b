namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// An SRT stream id as text (<see cref="SrtStreamId.TryParse"/>): <c>#!::r=live/livestream,m=publish</c> or
/// <c>live/livestream?vhost=...</c>. An accepted one names a valid stream.
/// </summary>
internal sealed class SrtStreamIdTarget : IFuzzTarget
{
    public string Name => "srt-streamid";

    public string Description => "SrtStreamId.TryParse: a valid stream key or false, never an exception";

    public void Run(byte[] input) => CheckStreamId(Inputs.Text(input));

    internal static void CheckStreamId(string streamId)
    {
        if (!SrtStreamId.TryParse(streamId, out var url, out var publish))
        {
            Check.That(!publish || streamId.Contains("m=publish", StringComparison.Ordinal), "publish only when asked for");
            return;
        }

        StreamUrlTarget.CheckValid(url);
        Check.That(!publish || streamId.StartsWith("#!::", StringComparison.Ordinal), "publish only in the access-control form");
    }
}
