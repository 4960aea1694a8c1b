using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>
/// A WebRTC session as the signalling path created it: what the relay needs to carry its media, and what a
/// DELETE or PATCH needs to reach the origin again. Plain data, so a shared registry can store it.
/// </summary>
internal sealed record RtcSessionRecord
{
    /// <summary>The proxy's unguessable session id, the last segment of the <c>Location</c> it returns.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary><c>whep</c>, <c>whip</c>, <c>play</c> or <c>publish</c> (the last two: SRS's JSON API).</summary>
    [JsonPropertyName("kind")]
    public required string Kind { get; init; }

    [JsonPropertyName("stream")]
    public required string StreamKey { get; init; }

    [JsonPropertyName("origin_id")]
    public required string OriginId { get; init; }

    /// <summary>
    /// The STUN USERNAME the player sends: <c>answer ufrag:offer ufrag</c> (RFC 8445 section 7.2.2; the
    /// origin is the answerer, so its ufrag comes first in requests it receives).
    /// </summary>
    [JsonPropertyName("username")]
    public required string Username { get; init; }

    /// <summary>
    /// The origin's ICE password from its answer: a STUN request from a new player address must be signed
    /// with it. Stored so that any proxy instance sharing the registry can verify the player.
    /// </summary>
    [JsonPropertyName("ice_pwd")]
    public required string IcePassword { get; init; }

    /// <summary>Where the relay sends the player's datagrams: the origin's UDP candidate.</summary>
    [JsonPropertyName("relay_host")]
    public required string RelayHost { get; init; }

    [JsonPropertyName("relay_port")]
    public required int RelayPort { get; init; }

    /// <summary>The origin's own session URL (absolute), for DELETE and PATCH; null if it gave none.</summary>
    [JsonPropertyName("origin_location")]
    public string? OriginLocation { get; init; }

    [JsonPropertyName("created")]
    public DateTimeOffset Created { get; init; }
}
