namespace SrsProxy.Hosting;

/// <summary>How a drain ended.</summary>
internal enum DrainOutcome
{
    /// <summary>Nothing was left playing before the deadline.</summary>
    Empty,

    /// <summary><c>PROXY_GRACE_QUIT_TIMEOUT</c> passed with work still playing; the host's stop closes it.</summary>
    Deadline,
}
