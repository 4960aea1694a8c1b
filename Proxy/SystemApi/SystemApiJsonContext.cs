using System.Text.Json.Serialization;

namespace SrsProxy.SystemApi;

/// <summary>Source-generated JSON for the system API's answers.</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RegisterAnswer))]
[JsonSerializable(typeof(OriginsAnswer))]
[JsonSerializable(typeof(StreamsAnswer))]
[JsonSerializable(typeof(SessionsAnswer))]
internal sealed partial class SystemApiJsonContext : JsonSerializerContext;
