namespace SrsProxy.Profiling;

/// <summary>The runtime or the kernel did not deliver what the profile needs; asking again may work.</summary>
internal class ProfileUnavailableException(string message) : Exception(message);
