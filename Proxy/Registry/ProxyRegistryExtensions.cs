namespace SrsProxy.Registry;

internal static class ProxyRegistryExtensions
{
    /// <summary>
    /// <see cref="IProxyRegistry.ReportOriginUnreachableAsync"/> for the protocols' connect paths, which have
    /// their own error to report: a registry that does not answer either is not a second error (the next pick
    /// fails on it anyway). Null: no origin was picked yet, nothing to report.
    /// </summary>
    public static async Task TryReportOriginUnreachableAsync(this IProxyRegistry registry, OriginServer? origin)
    {
        if (origin is null)
        {
            return;
        }

        try
        {
            await registry.ReportOriginUnreachableAsync(origin.Id, CancellationToken.None);
        }
        catch (RegistryUnavailableException)
        {
        }
    }
}
