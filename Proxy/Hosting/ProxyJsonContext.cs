using System.Text.Json.Serialization;
using SrsProxy.Registry;
using SrsProxy.SystemApi;

namespace SrsProxy.Hosting;

/// <summary>Source-generated JSON for every body the proxy writes.</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(RegistrySnapshot))]
[JsonSerializable(typeof(RtcSessionRecord))]
[JsonSerializable(typeof(RegisterAnswer))]
[JsonSerializable(typeof(VersionAnswer))]
[JsonSerializable(typeof(OriginsAnswer))]
[JsonSerializable(typeof(StreamsAnswer))]
[JsonSerializable(typeof(SessionsAnswer))]
internal sealed partial class ProxyJsonContext : JsonSerializerContext;
