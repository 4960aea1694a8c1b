using SrsProxy.Configuration;

namespace SrsProxy.Profiling;

internal static class ProfilingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the profiler when <c>GO_PPROF</c> is set. Everything is a lazy singleton: nothing is created,
    /// and no EventPipe session opened, until the first profile is asked for.
    /// </summary>
    public static IServiceCollection AddProfiling(this IServiceCollection services, ProfilingOptions options)
    {
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new ConfigurationException(string.Join("; ", errors));
        }

        services.AddSingleton(options);
        services.AddSingleton<SymbolTable>();
        services.AddSingleton<EventPipeRecorder>();
        services.AddSingleton<Profiler>();
        services.AddHostedService<PprofListenerNotice>();
        return services;
    }
}
