using System.Text.Json.Serialization;

namespace SrsProxy.SystemApi;

/// <summary>
/// <c>POST</c> and <c>GET /api/v1/drain</c>: whether the instance drains, why and until when, what still
/// plays, and what new work it refused meanwhile.
/// </summary>
internal sealed record DrainAnswer(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("draining")] bool Draining,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("since")] DateTimeOffset? Since,
    [property: JsonPropertyName("deadline")] DateTimeOffset? Deadline,
    [property: JsonPropertyName("active_total")] int ActiveTotal,
    [property: JsonPropertyName("active")] IReadOnlyDictionary<string, int> Active,
    [property: JsonPropertyName("refused")] IReadOnlyDictionary<string, long> Refused);
