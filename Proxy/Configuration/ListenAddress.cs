using System.Globalization;
using System.Net;

namespace SrsProxy.Configuration;

/// <summary>
/// A listen address as the reference accepts it: a bare port (<c>1985</c>, all interfaces) or
/// <c>host:port</c> (<c>127.0.0.1:1985</c>, <c>[::1]:1985</c>). Port 0 asks the kernel for a free port,
/// which tests use.
/// </summary>
internal readonly record struct ListenAddress(IPAddress? Host, int Port)
{
    /// <summary>The address to bind: the host when given, else every interface (IPv6 any, dual mode).</summary>
    public IPEndPoint ToEndPoint() => new(Host ?? IPAddress.IPv6Any, Port);

    public bool IsLoopback => Host is not null && IPAddress.IsLoopback(Host);

    public static bool TryParse(string? text, out ListenAddress address)
    {
        address = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (TryParsePort(text, out var bare))
        {
            address = new ListenAddress(null, bare);
            return true;
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0 || !TryParsePort(text.AsSpan(colon + 1), out var port))
        {
            return false;
        }

        var host = text[..colon];
        if (host.Length == 0)
        {
            // ":1985", Go's spelling of "every interface".
            address = new ListenAddress(null, port);
            return true;
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = new ListenAddress(IPAddress.Loopback, port);
            return true;
        }

        if (!IPAddress.TryParse(host, out var ip))
        {
            return false;
        }

        address = new ListenAddress(ip, port);
        return true;
    }

    internal static bool TryParsePort(ReadOnlySpan<char> text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 0 and <= 65535;

    public override string ToString() => Host switch
    {
        null => $":{Port}",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } => $"[{Host}]:{Port}",
        _ => $"{Host}:{Port}",
    };
}
