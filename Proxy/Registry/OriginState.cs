using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>An origin with what the registry knows of it now.</summary>
internal sealed record OriginState(
    [property: JsonPropertyName("origin")] OriginServer Origin,
    [property: JsonPropertyName("last_heartbeat")] DateTimeOffset LastHeartbeat,
    [property: JsonPropertyName("alive")] bool Alive,
    [property: JsonPropertyName("active_sessions")] int ActiveSessions);
