using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>A stream's affinity: the origin its first pick chose, kept while that origin is alive.</summary>
internal sealed record StreamState(
    [property: JsonPropertyName("stream")] string StreamKey,
    [property: JsonPropertyName("origin_id")] string OriginId,
    [property: JsonPropertyName("since")] DateTimeOffset Since,
    [property: JsonPropertyName("active_sessions")] int ActiveSessions);
