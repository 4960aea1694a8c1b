namespace SrsProxy.Profiling;

/// <summary>The runtime did not deliver what the profile needs this time; asking again may work.</summary>
internal sealed class ProfileUnavailableException(string message) : Exception(message);
