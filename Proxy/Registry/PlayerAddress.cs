namespace SrsProxy.Registry;

/// <summary>A player address (<c>ip:port</c>) the relay verified for a session, as a shared registry stores it.</summary>
internal readonly record struct PlayerAddress(string Address, string SessionId);
