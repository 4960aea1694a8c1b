using System.Text.Json.Serialization;
using SrsProxy.Registry;

namespace SrsProxy.SystemApi;

/// <summary><c>{"code":0,"pid":"..."}</c>, what SRS expects back from a registration.</summary>
internal sealed record RegisterAnswer(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("pid")] string Pid);

internal sealed record OriginView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("device_id")] string DeviceId,
    [property: JsonPropertyName("ip")] string Ip,
    [property: JsonPropertyName("alive")] bool Alive,
    [property: JsonPropertyName("static")] bool IsStatic,
    [property: JsonPropertyName("last_heartbeat")] DateTimeOffset LastHeartbeat,
    [property: JsonPropertyName("heartbeat_age_seconds")] double HeartbeatAgeSeconds,
    [property: JsonPropertyName("active_sessions")] int ActiveSessions,
    [property: JsonPropertyName("endpoints")] Dictionary<string, string[]> Endpoints)
{
    /// <summary>Until when the origin gets no new streams: it refused a connection or did not answer. Null otherwise.</summary>
    [JsonPropertyName("unreachable_until")]
    public DateTimeOffset? UnreachableUntil { get; init; }
}

internal sealed record OriginsAnswer(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("origins")] IReadOnlyList<OriginView> Origins);

internal sealed record StreamsAnswer(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("streams")] IReadOnlyList<StreamState> Streams);

internal sealed record SessionView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("stream")] string Stream,
    [property: JsonPropertyName("origin_id")] string OriginId,
    [property: JsonPropertyName("origin_udp")] string OriginUdp,
    [property: JsonPropertyName("player")] string? Player,
    [property: JsonPropertyName("idle_seconds")] double IdleSeconds,
    [property: JsonPropertyName("packets_to_origin")] long PacketsToOrigin,
    [property: JsonPropertyName("packets_to_player")] long PacketsToPlayer,
    [property: JsonPropertyName("bytes_to_origin")] long BytesToOrigin,
    [property: JsonPropertyName("bytes_to_player")] long BytesToPlayer);

internal sealed record SessionsAnswer(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("sessions")] IReadOnlyList<SessionView> Sessions);
