using System.Globalization;
using System.Net;
using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>
/// An SRS origin as it registered itself. Its identity is <c>server-service-pid</c>: a restarted origin has a
/// new service id and pid, so it is a new origin. Plain data, serialisable, so a shared registry can store it.
/// </summary>
internal sealed record OriginServer
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("device_id")]
    public string DeviceId { get; init; } = "";

    [JsonPropertyName("ip")]
    public required string Ip { get; init; }

    [JsonPropertyName("server")]
    public required string Server { get; init; }

    [JsonPropertyName("service")]
    public required string Service { get; init; }

    [JsonPropertyName("pid")]
    public required string Pid { get; init; }

    [JsonPropertyName("rtmp")]
    public IReadOnlyList<OriginEndpoint> Rtmp { get; init; } = [];

    [JsonPropertyName("http")]
    public IReadOnlyList<OriginEndpoint> Http { get; init; } = [];

    [JsonPropertyName("api")]
    public IReadOnlyList<OriginEndpoint> Api { get; init; } = [];

    [JsonPropertyName("srt")]
    public IReadOnlyList<OriginEndpoint> Srt { get; init; } = [];

    [JsonPropertyName("rtc")]
    public IReadOnlyList<OriginEndpoint> Rtc { get; init; } = [];

    /// <summary>True for the static origin of <c>PROXY_DEFAULT_BACKEND_ENABLED</c>, which never expires.</summary>
    [JsonPropertyName("static")]
    public bool IsStatic { get; init; }

    public static string MakeId(string server, string service, string pid) => $"{server}-{service}-{pid}";

    /// <summary>The base URL of the origin's HTTP API (WHIP/WHEP signalling), or null if it has none.</summary>
    public Uri? ApiBaseUri => Api.Count == 0 ? null : new Uri($"http://{HostFor(Api[0])}:{Api[0].Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The origin's WebRTC UDP port, or 0 when it registered none.</summary>
    public int RtcUdpPort => Rtc.FirstOrDefault(e => e.IsUdp)?.Port ?? 0;

    /// <summary>
    /// The host to connect to for an endpoint: the endpoint's own host when it is a specific address, else
    /// the registered ip (endpoints are listen addresses, usually wildcards).
    /// </summary>
    public string HostFor(OriginEndpoint endpoint)
    {
        var host = endpoint.Host.Length == 0 || IsWildcard(endpoint.Host) ? Ip : endpoint.Host;
        return host.Contains(':') ? $"[{host}]" : host;
    }

    private static bool IsWildcard(string host) =>
        IPAddress.TryParse(host, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));
}
