using System.Text.Json.Serialization;

namespace SrsProxy.Http;

/// <summary><c>GET /api/v1/versions</c>, on every HTTP listener.</summary>
internal sealed record VersionAnswer(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("pid")] string Pid,
    [property: JsonPropertyName("signature")] string Signature,
    [property: JsonPropertyName("version")] string Version)
{
    public static readonly VersionAnswer Current = Create();

    private static VersionAnswer Create()
    {
        var version = typeof(VersionAnswer).Assembly.GetName().Version ?? new Version(1, 0, 0);
        var text = $"{version.Major}.{version.Minor}.{version.Build}";
        return new VersionAnswer(0, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), $"SRSProxy/{text} (.NET)", text);
    }
}
