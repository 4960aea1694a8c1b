namespace SrsProxy.Profiling;

/// <summary>The same kind of profile is already being taken, or the cap on profiles at once is reached.</summary>
internal sealed class ProfilerBusyException(string message) : Exception(message);
