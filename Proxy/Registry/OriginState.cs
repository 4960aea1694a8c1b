using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>An origin with what the registry knows of it now.</summary>
internal sealed record OriginState(
    [property: JsonPropertyName("origin")] OriginServer Origin,
    [property: JsonPropertyName("last_heartbeat")] DateTimeOffset LastHeartbeat,
    [property: JsonPropertyName("alive")] bool Alive,
    [property: JsonPropertyName("active_sessions")] int ActiveSessions)
{
    /// <summary>
    /// Set while the origin is in quarantine: it refused a connection or did not answer in time, and gets no
    /// new streams until then, heartbeats or not (<see cref="IProxyRegistry.ReportOriginUnreachableAsync"/>).
    /// </summary>
    [JsonPropertyName("unreachable_until")]
    public DateTimeOffset? UnreachableUntil { get; init; }

    /// <summary>Alive and not in quarantine: may get new streams.</summary>
    [JsonIgnore]
    public bool Available => Alive && UnreachableUntil is null;
}
