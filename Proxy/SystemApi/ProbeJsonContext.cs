using System.Text.Json.Serialization;

namespace SrsProxy.SystemApi;

/// <summary>Source-generated JSON for the probes and the drain.</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReadinessAnswer))]
[JsonSerializable(typeof(DrainAnswer))]
[JsonSerializable(typeof(HealthAnswer))]
internal sealed partial class ProbeJsonContext : JsonSerializerContext;
