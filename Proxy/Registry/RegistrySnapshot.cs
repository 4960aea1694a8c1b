using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>The registry's whole state as plain data.</summary>
internal sealed record RegistrySnapshot(
    [property: JsonPropertyName("origins")] IReadOnlyList<OriginState> Origins,
    [property: JsonPropertyName("streams")] IReadOnlyList<StreamState> Streams,
    [property: JsonPropertyName("rtc_sessions")] IReadOnlyList<RtcSessionRecord> RtcSessions);
