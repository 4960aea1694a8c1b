namespace SrsProxy.Http;

/// <summary>
/// The HTTP client the proxy talks to origins with: pooled connections refreshed every two minutes (origins
/// come and go), no redirects, cookies or system proxy, and no overall timeout. Callers bound each request
/// themselves, because a live FLV response never ends.
/// </summary>
internal static class OriginHttpClient
{
    public static HttpClient Create(TimeSpan connectTimeout) =>
        new(new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
}
