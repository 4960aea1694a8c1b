using System.Text.Json.Serialization;
using SrsProxy.Hosting;

namespace SrsProxy.SystemApi;

/// <summary><c>GET /readyz</c>: ready or not, and each check, so that an operator sees which one failed.</summary>
internal sealed record ReadinessAnswer(
    [property: JsonPropertyName("ready")] bool Ready,
    [property: JsonPropertyName("checks")] IReadOnlyList<ReadinessCheck> Checks);
