using System.Globalization;

namespace SrsProxy.WebRtc.Sdp;

/// <summary>
/// An ICE candidate line (RFC 8839 section 5.1):
/// <c>a=candidate:foundation component transport priority address port typ type [extensions]</c>.
/// </summary>
internal readonly record struct SdpCandidate(string Foundation, string Component, string Transport, string Priority, string Address, int Port, string Type, string Extensions)
{
    private const string Prefix = "a=candidate:";

    public bool IsUdp => Transport.Equals("udp", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses one SDP line (without its line ending); false if it is not a well-formed candidate.</summary>
    public static bool TryParse(string line, out SdpCandidate candidate)
    {
        candidate = default;
        // RFC 8866 section 9: SDP text has no CR or LF inside a line, and candidate fields are tokens (RFC 8839
        // section 5.1). A control character would stay in a field and come out as a line break of its own.
        if (!line.StartsWith(Prefix, StringComparison.Ordinal) || line.AsSpan().ContainsAnyInRange('\0', '\x1f'))
        {
            return false;
        }

        var parts = line[Prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 8 || parts[6] != "typ" ||
            !int.TryParse(parts[5], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            return false;
        }

        candidate = new SdpCandidate(parts[0], parts[1], parts[2], parts[3], parts[4], port, parts[7], string.Join(' ', parts.Skip(8)));
        return true;
    }

    public string ToLine()
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Foundation} {Component} {Transport} {Priority} {Address} {Port} typ {Type}");
        return Extensions.Length == 0 ? line : line + " " + Extensions;
    }
}
