using System.Text.Json.Serialization;

namespace SrsProxy.Registry;

/// <summary>Source-generated JSON for what a shared registry stores.</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RtcSessionRecord))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
