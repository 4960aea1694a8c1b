namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// Stream identities from requests (<see cref="StreamUrl.TryCreate"/>, <see cref="StreamUrl.TryParseUrl"/>,
/// <see cref="StreamUrl.VhostOf"/>). Input: lines host, path, app, stream, vhost (missing ones are absent),
/// and the whole text as a <c>streamurl</c>. An accepted stream has valid names, and its own app, stream and
/// vhost, given back as query parameters, name the same stream.
/// </summary>
internal sealed class StreamUrlTarget : IFuzzTarget
{
    public string Name => "stream-url";

    public string Description => "StreamUrl.TryCreate/TryParseUrl/VhostOf: valid names, same stream from its own parts";

    public void Run(byte[] input)
    {
        var text = Inputs.Text(input);
        var lines = text.Split('\n');
        string? Field(int i) => i < lines.Length ? lines[i] : null;

        var host = Field(0);
        CheckVhost(StreamUrl.VhostOf(host));
        if (StreamUrl.TryCreate(host, Field(1) ?? "", Field(2), Field(3), Field(4), out var url))
        {
            CheckValid(url);
        }

        if (StreamUrl.TryParseUrl(text, out var parsed))
        {
            CheckValid(parsed);
        }

        if (StreamUrl.TryParseUrl(Field(0), out var first))
        {
            CheckValid(first);
        }
    }

    internal static void CheckValid(StreamUrl url)
    {
        foreach (var name in new[] { url.App, url.Stream })
        {
            Check.That(name.Length is > 0 and <= StreamUrl.MaxNameLength, "name length");
            Check.That(!name.Contains("..", StringComparison.Ordinal), "no '..' in a name");
            Check.That(name.All(c => c > ' ' && c < 0x7f && c is not ('?' or '#' or '\\')), "printable ASCII names");
        }

        CheckVhost(url.Vhost);
        Check.Equal($"{url.Vhost}/{url.App}/{url.Stream}", url.Key, "key");
        Check.That(StreamUrl.TryCreate(null, "/", url.App, url.Stream, url.Vhost, out var again), $"'{url}' from its own parts");
        Check.Equal(url, again, "stream from its own app, stream and vhost");
    }

    private static void CheckVhost(string vhost)
    {
        Check.That(vhost.Length > 0, "a vhost");
        Check.Equal(vhost, StreamUrl.VhostOf(vhost), "a vhost is its own vhost");
    }
}
