using SrsProxy.Configuration;

namespace SrsProxy.Registry.Redis;

internal static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// The Redis registry as the proxy's <see cref="IProxyRegistry"/>. Kept out of the composition root's own
    /// methods: compiling a method that names Redis's types loads StackExchange.Redis (about 1 MB of resident
    /// memory), which the memory registry does not need.
    /// </summary>
    public static IServiceCollection AddRedisRegistry(this IServiceCollection services, ProxyOptions options, TimeSpan timeout) =>
        services.AddSingleton<IProxyRegistry>(sp => new RedisRegistry(
            RedisStore.Connect(options, timeout),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RedisRegistry>>()));
}
