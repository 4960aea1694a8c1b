using System.Globalization;
using System.Net;
using System.Text.Json.Serialization;
using SrsProxy.Configuration;

namespace SrsProxy.Registry;

/// <summary>
/// One listen endpoint an origin reports: a bare port (<c>"19351"</c>), <c>host:port</c>, or
/// <c>proto://host:port</c> (<c>"udp://0.0.0.0:8001"</c>). The host is usually a wildcard; the origin's
/// registered <c>ip</c> is where the proxy connects.
/// </summary>
internal sealed record OriginEndpoint(
    [property: JsonPropertyName("protocol")] string Protocol,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port")] int Port)
{
    public bool IsUdp => Protocol is "udp" or "";

    public bool IsTcp => Protocol is "tcp" or "";

    public static bool TryParse(string? text, out OriginEndpoint endpoint)
    {
        endpoint = null!;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 256)
        {
            return false;
        }

        text = text.Trim();
        var protocol = "";
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            protocol = text[..scheme].ToLowerInvariant();
            if (protocol is not ("udp" or "tcp" or "http" or "https" or "rtmp" or "srt"))
            {
                return false;
            }

            text = text[(scheme + 3)..].TrimEnd('/');
        }

        if (ListenAddress.TryParsePort(text, out var bare))
        {
            if (bare == 0)
            {
                return false;
            }

            endpoint = new OriginEndpoint(protocol, "", bare);
            return true;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !ListenAddress.TryParsePort(text.AsSpan(colon + 1), out var port) || port == 0)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        // IPAddress.TryParse also takes "[fd00::5]:" (brackets and an empty port): left in the host, it would make
        // an origin URL that does not parse. One pair of brackets only, and it is gone by now.
        if (host.AsSpan().ContainsAny('[', ']') ||
            (!IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) != UriHostNameType.Dns))
        {
            return false;
        }

        endpoint = new OriginEndpoint(protocol, host, port);
        return true;
    }

    public override string ToString()
    {
        var host = Host.Contains(':') ? $"[{Host}]" : Host;
        var hostPort = Host.Length == 0 ? Port.ToString(CultureInfo.InvariantCulture) : $"{host}:{Port}";
        return Protocol.Length == 0 ? hostPort : $"{Protocol}://{hostPort}";
    }
}
