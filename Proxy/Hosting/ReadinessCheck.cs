using System.Text.Json.Serialization;

namespace SrsProxy.Hosting;

/// <summary>One condition of <c>/readyz</c>: its name, whether it holds, and what is wrong when it does not.</summary>
internal sealed record ReadinessCheck(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("detail")] string? Detail);
