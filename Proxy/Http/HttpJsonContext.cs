using System.Text.Json.Serialization;

namespace SrsProxy.Http;

/// <summary>Source-generated JSON for the bodies every HTTP listener shares: errors and the version answer.</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(VersionAnswer))]
internal sealed partial class HttpJsonContext : JsonSerializerContext;
