using SrsProxy.Registry;

namespace SrsProxy.Hosting;

/// <summary>
/// What <c>GET /readyz</c> checks, for load balancers and Kubernetes readiness probes: every listener bound
/// (the host finished starting, which it does only after the UDP relays, RTMP and Kestrel have bound), the
/// registry answering, and no drain. Cheap enough to probe every second from several probers: the registry
/// is read at most once a second, by one request at a time, and never waited on for more than a second.
/// </summary>
internal sealed class Readiness
{
    /// <summary>Longest wait for the registry: a probe's own timeout is typically 1 s.</summary>
    private static readonly TimeSpan RegistryTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How long one registry read answers for all probes.</summary>
    private static readonly TimeSpan RegistryCacheTime = TimeSpan.FromSeconds(1);

    private readonly IProxyRegistry _registry;
    private readonly DrainState _drain;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Task<string?>? _registryCheck;
    private long _registryCheckedAt;

    public Readiness(IProxyRegistry registry, DrainState drain, IHostApplicationLifetime lifetime, TimeProvider time)
    {
        _registry = registry;
        _drain = drain;
        _lifetime = lifetime;
        _time = time;
    }

    public async Task<IReadOnlyList<ReadinessCheck>> CheckAsync()
    {
        var started = _lifetime.ApplicationStarted.IsCancellationRequested;
        var registryError = await RegistryErrorAsync();
        var drain = _drain.Info;
        return
        [
            new("listeners", started, started ? null : "starting: not every listener is bound yet"),
            new("registry", registryError is null, registryError),
            new("draining", drain is null, drain is null ? null : $"draining since {drain.Since:O} ({drain.Reason}), until {drain.Deadline:O} at the latest"),
        ];
    }

    private Task<string?> RegistryErrorAsync()
    {
        lock (_lock)
        {
            if (_registryCheck is null || (_registryCheck.IsCompleted && _time.GetElapsedTime(_registryCheckedAt) >= RegistryCacheTime))
            {
                _registryCheckedAt = _time.GetTimestamp();
                _registryCheck = ReadRegistryAsync();
            }

            return _registryCheck;
        }
    }

    private async Task<string?> ReadRegistryAsync()
    {
        try
        {
            await _registry.GetOriginsAsync(CancellationToken.None).AsTask().WaitAsync(RegistryTimeout, _time);
            return null;
        }
        catch (TimeoutException)
        {
            return $"the registry did not answer within {RegistryTimeout.TotalSeconds:0} s";
        }
        catch (RegistryUnavailableException e)
        {
            return $"the registry is unreachable: {e.Message}";
        }
        catch (Exception e)
        {
            // Whatever else a registry throws, it did not answer: not ready, and the probe says why.
            return $"the registry failed: {e.Message}";
        }
    }
}
