using System.Text.Json.Serialization;

namespace SrsProxy.SystemApi;

/// <summary><c>GET /healthz</c>: the process serves; whether it drains is <c>/readyz</c>'s business.</summary>
internal sealed record HealthAnswer(
    [property: JsonPropertyName("alive")] bool Alive,
    [property: JsonPropertyName("draining")] bool Draining);
