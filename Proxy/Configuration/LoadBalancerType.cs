namespace SrsProxy.Configuration;

/// <summary>Where the origin registry lives (<c>PROXY_LOAD_BALANCER_TYPE</c>).</summary>
internal enum LoadBalancerType
{
    /// <summary>In this process: one command, nothing else to install.</summary>
    Memory,

    /// <summary>In Redis, shared by several proxy instances.</summary>
    Redis,
}
