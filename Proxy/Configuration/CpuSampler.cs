namespace SrsProxy.Configuration;

/// <summary>How <c>/debug/pprof/profile</c> samples the CPU (<c>PROXY_PPROF_CPU_SAMPLER</c>).</summary>
internal enum CpuSampler
{
    /// <summary>Kernel CPU-time samples when the kernel allows this process perf events, else EventPipe's sampler.</summary>
    Auto,

    /// <summary>Kernel CPU-time samples (<c>perf_event_open</c>) only; a profile fails with 503 where they are refused.</summary>
    Perf,

    /// <summary>The runtime's EventPipe thread sampler, as before kernel sampling existed.</summary>
    EventPipe,
}
