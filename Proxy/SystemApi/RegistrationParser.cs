using System.Net;
using System.Text.Json;
using SrsProxy.Registry;

namespace SrsProxy.SystemApi;

/// <summary>
/// Validates the body an SRS origin posts to <c>/api/v1/srs/register</c>. Every field is checked; the first
/// problem is reported naming the field, and nothing is stored (the reference answered 200 regardless).
/// </summary>
internal static class RegistrationParser
{
    /// <summary>Most endpoints one origin may list per protocol; SRS lists one or two.</summary>
    internal const int MaxEndpointsPerProtocol = 16;

    /// <summary>Longest identity field accepted (server, service, pid, device_id).</summary>
    internal const int MaxFieldLength = 128;

    public static bool TryParse(JsonElement body, out OriginServer origin, out string error)
    {
        origin = null!;
        if (body.ValueKind != JsonValueKind.Object)
        {
            error = "body: expected a JSON object";
            return false;
        }

        if (!TryIdentity(body, "server", required: true, out var server, out error) ||
            !TryIdentity(body, "service", required: true, out var service, out error) ||
            !TryIdentity(body, "pid", required: true, out var pid, out error) ||
            !TryIdentity(body, "device_id", required: false, out var deviceId, out error))
        {
            return false;
        }

        if (!TryIdentity(body, "ip", required: true, out var ip, out error))
        {
            return false;
        }

        if (body.GetProperty("ip").ValueKind != JsonValueKind.String)
        {
            error = "ip: expected a string";
            return false;
        }

        if (!IsIpOrHostName(ip) || IsWildcard(ip))
        {
            error = $"ip: '{ip}' is not an IP address or host name the proxy can connect to";
            return false;
        }

        if (!TryEndpoints(body, "rtmp", required: true, out var rtmp, out error) ||
            !TryEndpoints(body, "http", required: false, out var http, out error) ||
            !TryEndpoints(body, "api", required: false, out var api, out error) ||
            !TryEndpoints(body, "srt", required: false, out var srt, out error) ||
            !TryEndpoints(body, "rtc", required: false, out var rtc, out error))
        {
            return false;
        }

        origin = new OriginServer
        {
            Id = OriginServer.MakeId(server, service, pid),
            DeviceId = deviceId,
            Ip = ip,
            Server = server,
            Service = service,
            Pid = pid,
            Rtmp = rtmp,
            Http = http,
            Api = api,
            Srt = srt,
            Rtc = rtc,
        };
        return true;
    }

    private static bool TryIdentity(JsonElement body, string field, bool required, out string value, out string error)
    {
        value = "";
        error = "";
        if (!body.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                error = $"{field}: required";
                return false;
            }

            return true;
        }

        // SRS sends pid as a string; a number is accepted too.
        value = element.ValueKind switch
        {
            JsonValueKind.String => element.GetString()!.Trim(),
            JsonValueKind.Number => element.GetRawText(),
            _ => "",
        };
        if (element.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            error = $"{field}: expected a string";
            return false;
        }

        if (value.Length > MaxFieldLength || value.Any(char.IsControl))
        {
            error = $"{field}: longer than {MaxFieldLength} characters or has control characters";
            return false;
        }

        if (required && value.Length == 0)
        {
            error = $"{field}: required, must not be empty";
            return false;
        }

        return true;
    }

    private static bool TryEndpoints(JsonElement body, string field, bool required, out OriginEndpoint[] endpoints, out string error)
    {
        endpoints = [];
        error = "";
        if (!body.TryGetProperty(field, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                error = $"{field}: required";
                return false;
            }

            return true;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            error = $"{field}: expected an array of endpoints such as [\"1935\"] or [\"udp://0.0.0.0:8000\"]";
            return false;
        }

        var count = element.GetArrayLength();
        if (count > MaxEndpointsPerProtocol || (required && count == 0))
        {
            error = count == 0 ? $"{field}: required, must list at least one endpoint" : $"{field}: more than {MaxEndpointsPerProtocol} endpoints";
            return false;
        }

        endpoints = new OriginEndpoint[count];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            var text = item.ValueKind switch
            {
                JsonValueKind.String => item.GetString(),
                JsonValueKind.Number => item.GetRawText(),
                _ => null,
            };
            if (!OriginEndpoint.TryParse(text, out var endpoint))
            {
                error = $"{field}[{i}]: '{Truncate(text ?? item.GetRawText())}' is not a port, host:port or proto://host:port";
                return false;
            }

            endpoints[i++] = endpoint;
        }

        return true;
    }

    /// <summary>
    /// A dotted-quad IPv4, an IPv6 address or a DNS name. IPAddress.TryParse alone would take "42" as
    /// 0.0.0.42, which no origin means.
    /// </summary>
    internal static bool IsIpOrHostName(string text)
    {
        if (text.Contains(':'))
        {
            return IPAddress.TryParse(text, out _);
        }

        if (text.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            return text.Count(c => c == '.') == 3 && IPAddress.TryParse(text, out _);
        }

        return Uri.CheckHostName(text) == UriHostNameType.Dns;
    }

    private static bool IsWildcard(string text) =>
        IPAddress.TryParse(text, out var ip) && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any));

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
