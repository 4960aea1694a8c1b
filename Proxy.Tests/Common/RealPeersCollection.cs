namespace SrsProxy.Tests.Common;

/// <summary>
/// Tests that drive Chromium and werift run one at a time: each takes a core for seconds, and two at once on
/// a 2-core machine would test the scheduler, not the proxy.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealPeersCollection
{
    public const string Name = "Real WebRTC peers";
}
