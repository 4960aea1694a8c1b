using System.Text.Json.Serialization;

namespace SrsProxy.Http;

/// <summary>An RFC 9457 problem details body.</summary>
internal sealed record ProblemDetails(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detail")] string Detail);
