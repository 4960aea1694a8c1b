namespace SrsProxy.Registry;

/// <summary>A registry table reached its cap: the caller answers 503 and stores nothing.</summary>
internal sealed class RegistryFullException(string message) : Exception(message);
