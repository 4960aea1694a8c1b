namespace SrsProxy.Registry;

/// <summary>No alive origin can take the stream: the caller answers 503 with <c>Retry-After</c>.</summary>
internal sealed class NoOriginAvailableException(string message) : Exception(message);
