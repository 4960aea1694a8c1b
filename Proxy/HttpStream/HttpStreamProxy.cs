using System.Security.Cryptography;
using System.Text;
using SrsProxy.Configuration;
using SrsProxy.Hosting;
using SrsProxy.Http;
using SrsProxy.Registry;
using SrsProxy.Streams;

namespace SrsProxy.HttpStream;

/// <summary>
/// HTTP-FLV and HLS on <c>PROXY_HTTP_SERVER</c>. <c>.flv</c> and <c>.ts</c> stream from the picked origin's
/// HTTP endpoint as they arrive (nothing is buffered whole). A <c>.m3u8</c> playlist is fetched, and each
/// segment URL in it gets <c>spbhid=ID</c>, an opaque id the registry maps back to the origin: players fetch
/// segments on other connections, perhaps from another proxy instance, and must reach the same origin.
/// While the instance drains, new streams and playlists get 503; segments of a playlist already served
/// (they carry <c>spbhid</c>) are still served, so a player plays out what it was given while it moves on;
/// streams already flowing go on until the drain's deadline.
/// </summary>
internal sealed partial class HttpStreamProxy : IDisposable
{
    /// <summary>Largest playlist read from an origin; a live playlist is a few hundred bytes.</summary>
    internal const int MaxPlaylistBytes = 1024 * 1024;

    /// <summary>How long an HLS id lives without use; every playlist fetch renews it.</summary>
    internal static readonly TimeSpan HlsIdLifetime = TimeSpan.FromMinutes(10);

    private const int CopyBufferBytes = 64 * 1024;

    private readonly IProxyRegistry _registry;
    private readonly ILogger<HttpStreamProxy> _logger;
    private readonly HttpClient _http;
    private readonly TimeSpan _headersTimeout;
    private readonly DrainState? _drain;
    private int _active;

    public HttpStreamProxy(ProxyOptions options, IProxyRegistry registry, ILogger<HttpStreamProxy> logger, DrainState? drain = null)
    {
        _registry = registry;
        _logger = logger;
        _drain = drain;
        _headersTimeout = options.OriginTimeout;
        // A live FLV response never ends; SendAsync bounds only the wait for headers.
        _http = OriginHttpClient.Create(options.OriginTimeout);
    }

    public static bool IsStreamPath(string path) =>
        path.EndsWith(".flv", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".ts", StringComparison.OrdinalIgnoreCase) ||
        path.EndsWith(".m3u8", StringComparison.OrdinalIgnoreCase);

    /// <summary>Stream, playlist and segment requests in progress: what a drain waits for.</summary>
    public int ActiveCount => Volatile.Read(ref _active);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var hlsId = request.Query["spbhid"].ToString();
        if (_drain is { IsDraining: true } && hlsId.Length == 0)
        {
            await _drain.RefuseAsync(context, "http_stream");
            return;
        }

        Interlocked.Increment(ref _active);
        OriginServer? origin = null;
        try
        {
            origin = hlsId.Length > 0 ? await OriginOfHlsIdAsync(hlsId, context.RequestAborted) : null;
            if (origin is null)
            {
                if (!StreamUrl.TryCreate(request.Host.Value, path, request.Query["app"], request.Query["stream"], request.Query["vhost"], out var stream))
                {
                    await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, "no stream in the path: expected /APP/STREAM.flv, .m3u8 or .ts");
                    return;
                }

                origin = await _registry.PickOriginAsync(stream, context.RequestAborted);
            }

            if (origin.Http.Count == 0)
            {
                await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, $"origin {origin.Id} registered no http endpoint");
                return;
            }

            var endpoint = origin.Http[0];
            var target = new Uri($"http://{origin.HostFor(endpoint)}:{endpoint.Port}{path}{WithoutHlsId(request.QueryString.Value)}");
            if (path.EndsWith(".m3u8", StringComparison.OrdinalIgnoreCase))
            {
                await ProxyPlaylistAsync(context, origin, target);
            }
            else
            {
                await ProxyStreamAsync(context, target);
            }
        }
        catch (NoOriginAvailableException e)
        {
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message, TimeSpan.FromSeconds(3));
        }
        catch (HttpRequestException e)
        {
            LogOriginFailed(path, e.Message);
            await _registry.TryReportOriginUnreachableAsync(origin);
            await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, $"origin unreachable: {e.Message}");
        }
        catch (TimeoutException e)
        {
            await _registry.TryReportOriginUnreachableAsync(origin);
            await Problem.WriteAsync(context, StatusCodes.Status504GatewayTimeout, e.Message);
        }
        catch (OperationCanceledException) when (_drain is { Ended.IsCancellationRequested: true } && !context.RequestAborted.IsCancellationRequested)
        {
            // The drain's deadline passed with this stream still flowing: it ends here, and the player sees
            // the end of the response and reconnects, through its load balancer, to a ready instance.
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private async Task ProxyStreamAsync(HttpContext context, Uri target)
    {
        using var response = await SendAsync(context, target);
        var output = context.Response;
        output.StatusCode = (int)response.StatusCode;
        if (response.Content.Headers.ContentType is { } type)
        {
            output.ContentType = type.ToString();
        }

        if (response.Content.Headers.ContentLength is { } length)
        {
            output.ContentLength = length;
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        // Stream as it arrives; the player's going away cancels the origin request too, and so does the end of
        // a drain (its deadline), so that the host's stop does not wait for a live stream that never ends.
        using var copying = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _drain?.Ended ?? CancellationToken.None);
        await using var body = await response.Content.ReadAsStreamAsync(copying.Token);
        await body.CopyToAsync(output.Body, CopyBufferBytes, copying.Token);
    }

    private async Task ProxyPlaylistAsync(HttpContext context, OriginServer origin, Uri target)
    {
        using var response = await SendAsync(context, target);
        var output = context.Response;
        output.StatusCode = (int)response.StatusCode;
        output.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/vnd.apple.mpegurl";
        if (!response.IsSuccessStatusCode)
        {
            await response.Content.CopyToAsync(output.Body, context.RequestAborted);
            return;
        }

        var length = response.Content.Headers.ContentLength;
        if (length > MaxPlaylistBytes)
        {
            await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, $"origin playlist over {MaxPlaylistBytes} bytes");
            return;
        }

        var playlist = await ReadBoundedAsync(response.Content, context.RequestAborted);
        if (playlist is null)
        {
            await Problem.WriteAsync(context, StatusCodes.Status502BadGateway, $"origin playlist over {MaxPlaylistBytes} bytes");
            return;
        }

        var id = HlsIdOf(origin.Id);
        await _registry.PutHlsOriginAsync(id, origin.Id, HlsIdLifetime, context.RequestAborted);
        var rewritten = RewritePlaylist(playlist, id);
        output.ContentLength = Encoding.UTF8.GetByteCount(rewritten);
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await output.WriteAsync(rewritten, context.RequestAborted);
        }
    }

    /// <summary>
    /// Appends <c>spbhid=ID</c> to every segment URI line (lines not starting with <c>#</c>) ending in
    /// <c>.ts</c>, keeping any query and the playlist's own line endings.
    /// </summary>
    internal static string RewritePlaylist(string playlist, string id)
    {
        var result = new StringBuilder(playlist.Length + 256);
        foreach (var (line, ending) in WebRtc.Sdp.SdpLines.Split(playlist))
        {
            var uri = line.Trim();
            var pathPart = uri.Split('?')[0];
            if (uri.Length > 0 && !uri.StartsWith('#') && pathPart.EndsWith(".ts", StringComparison.OrdinalIgnoreCase))
            {
                result.Append(uri).Append(uri.Contains('?') ? '&' : '?').Append("spbhid=").Append(id);
            }
            else
            {
                result.Append(line);
            }

            result.Append(ending);
        }

        return result.ToString();
    }

    /// <summary>A stable opaque id per origin: the same for every playlist fetch, on every proxy instance.</summary>
    internal static string HlsIdOf(string originId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(originId)))[..16];

    private async Task<OriginServer?> OriginOfHlsIdAsync(string hlsId, CancellationToken cancellationToken)
    {
        if (hlsId.Length > 64)
        {
            return null;
        }

        var originId = await _registry.GetHlsOriginAsync(hlsId, HlsIdLifetime, cancellationToken);
        if (originId is null)
        {
            return null;
        }

        // A segment goes to the origin that served its playlist while it lives; otherwise the stream's pick.
        return (await _registry.GetOriginsAsync(cancellationToken)).FirstOrDefault(o => o.Origin.Id == originId && o.Alive)?.Origin;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpContext context, Uri target)
    {
        using var request = new HttpRequestMessage(HttpMethods.IsHead(context.Request.Method) ? HttpMethod.Head : HttpMethod.Get, target);
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        headers.CancelAfter(_headersTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            throw new TimeoutException($"origin {target.Authority} did not answer within {GoDuration.Format(_headersTimeout)}");
        }
    }

    private static async Task<string?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var text = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (text.Length + read > MaxPlaylistBytes)
            {
                return null;
            }

            text.Write(buffer, 0, read);
        }

        return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }

    private static string WithoutHlsId(string? query)
    {
        if (string.IsNullOrEmpty(query) || !query.Contains("spbhid=", StringComparison.Ordinal))
        {
            return query ?? "";
        }

        var kept = query.TrimStart('?').Split('&').Where(p => !p.StartsWith("spbhid=", StringComparison.Ordinal)).ToArray();
        return kept.Length == 0 ? "" : "?" + string.Join('&', kept);
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "HTTP stream {Path}: origin failed: {Reason}")]
    private partial void LogOriginFailed(string path, string reason);
}
