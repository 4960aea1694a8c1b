namespace SrsProxy.Profiling;

/// <summary>A recording grew past its cap; the client should ask for a shorter window.</summary>
internal sealed class ProfileTooLargeException(string message) : Exception(message);
