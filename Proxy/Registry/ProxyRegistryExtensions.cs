namespace SrsProxy.Registry;

internal static class ProxyRegistryExtensions
{
    /// <summary>
    /// <see cref="IProxyRegistry.ReportOriginUnreachableAsync"/> for the protocols' connect paths, which have
    /// their own error to report: a registry that does not answer either is not a second error (the next pick
    /// fails on it anyway).
    /// </summary>
    public static async Task TryReportOriginUnreachableAsync(this IProxyRegistry registry, string originId)
    {
        try
        {
            await registry.ReportOriginUnreachableAsync(originId, CancellationToken.None);
        }
        catch (RegistryUnavailableException)
        {
        }
    }
}
