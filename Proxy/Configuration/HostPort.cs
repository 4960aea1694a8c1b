using System.Globalization;
using System.Net;

namespace SrsProxy.Configuration;

/// <summary>
/// A peer to connect to: an IP address or a DNS name, and a port (<c>10.0.0.5:26379</c>, <c>[::1]:26379</c>,
/// <c>sentinel-0.redis:26379</c>). Unlike <see cref="ListenAddress"/>, the host is required and may be a name,
/// because the peer (a Redis Sentinel in Kubernetes) is often known only by its DNS name.
/// </summary>
internal readonly record struct HostPort(string Host, int Port)
{
    /// <summary>Parses <c>host:port</c>, or a bare host with <paramref name="defaultPort"/>.</summary>
    public static bool TryParse(string? text, int defaultPort, out HostPort value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        string host;
        var port = defaultPort;
        if (text.StartsWith('['))
        {
            // [IPv6] or [IPv6]:port: the brackets are what tell the address's colons from the port's.
            var close = text.IndexOf(']');
            if (close < 0)
            {
                return false;
            }

            host = text[1..close];
            var rest = text.AsSpan(close + 1);
            if (rest.Length > 0 && (rest[0] != ':' || !TryParsePort(rest[1..], out port)))
            {
                return false;
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else
        {
            var colon = text.IndexOf(':');
            if (colon >= 0 && (text.IndexOf(':', colon + 1) >= 0 || !TryParsePort(text.AsSpan(colon + 1), out port)))
            {
                // A second colon means an IPv6 address without brackets: ambiguous, so refused.
                return false;
            }

            host = colon >= 0 ? text[..colon] : text;
            if (!IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) != UriHostNameType.Dns)
            {
                return false;
            }
        }

        value = new HostPort(host, port);
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<char> text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
