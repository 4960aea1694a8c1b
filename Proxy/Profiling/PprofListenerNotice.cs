namespace SrsProxy.Profiling;

/// <summary>
/// Says at start where the profiles are served, and warns when that is reachable from other hosts:
/// profiles show the proxy's code and can cost CPU, so they belong on loopback.
/// </summary>
internal sealed partial class PprofListenerNotice : IHostedService
{
    private readonly ProfilingOptions _options;
    private readonly ILogger<PprofListenerNotice> _logger;

    public PprofListenerNotice(ProfilingOptions options, ILogger<PprofListenerNotice> logger)
    {
        _options = options;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var address = _options.Address;
        if (address.IsLoopback)
        {
            LogListening(address.ToString());
        }
        else
        {
            LogExposed(address.ToString());
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
