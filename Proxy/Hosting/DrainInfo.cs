namespace SrsProxy.Hosting;

/// <summary>Why the instance drains, since when, and when what is still playing is closed.</summary>
internal sealed record DrainInfo(string Reason, DateTimeOffset Since, DateTimeOffset Deadline);
