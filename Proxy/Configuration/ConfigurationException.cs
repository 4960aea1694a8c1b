namespace SrsProxy.Configuration;

/// <summary>A bad setting: the message names the variable and the value, on one line.</summary>
internal sealed class ConfigurationException(string message) : Exception(message);
