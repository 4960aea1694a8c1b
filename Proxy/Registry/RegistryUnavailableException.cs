namespace SrsProxy.Registry;

/// <summary>
/// The shared store behind the registry cannot be reached: the caller answers 503 with <c>Retry-After</c>,
/// and the relay carries on with what it already has.
/// </summary>
internal sealed class RegistryUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
