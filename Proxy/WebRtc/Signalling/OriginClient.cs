using System.Net;
using System.Net.Http.Headers;
using System.Text;
using SrsProxy.Configuration;
using SrsProxy.Http;

namespace SrsProxy.WebRtc.Signalling;

/// <summary>
/// HTTP requests from the proxy to an origin's API: one pooled client, a deadline per request, bounded
/// answers, and failures sorted into "unreachable" (502) and "too slow" (504).
/// </summary>
internal sealed class OriginClient : IDisposable
{
    /// <summary>Largest answer read from an origin; an SDP answer is a few KiB.</summary>
    internal const int MaxResponseBytes = 256 * 1024;

    private const int BadGateway = (int)HttpStatusCode.BadGateway;

    private readonly Lock _httpLock = new();
    private readonly TimeSpan _timeout;

    /// <summary>
    /// Made at the first request rather than at start: System.Net.Http is about 1.5 MB of resident memory that
    /// an idle proxy need not hold (README, "Where the memory goes"). Once, under the lock: the first offers
    /// arrive together.
    /// </summary>
    private HttpClient? _http;

    public OriginClient(ProxyOptions options) => _timeout = options.OriginTimeout;

    private HttpClient Http => _http ?? CreateHttp();

    private HttpClient CreateHttp()
    {
        lock (_httpLock)
        {
            return _http ??= OriginHttpClient.Create(_timeout);
        }
    }

    public async Task<OriginResponse> SendAsync(HttpMethod method, Uri url, string? body, string? contentType, IEnumerable<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? "application/sdp");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        try
        {
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            var length = response.Content.Headers.ContentLength;
            if (length > MaxResponseBytes)
            {
                throw new OriginException(BadGateway, $"origin answer too large ({length} bytes)");
            }

            var text = await ReadBoundedAsync(response.Content, deadline.Token);
            return new OriginResponse(
                (int)response.StatusCode,
                response.Content.Headers.ContentType?.ToString(),
                text,
                response.Headers.ETag?.ToString(),
                response.Headers.Location,
                response.Headers.TryGetValues("Link", out var links) ? links.ToArray() : []);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OriginException((int)HttpStatusCode.GatewayTimeout, $"origin {url.Authority} did not answer within {GoDuration.Format(_timeout)}", unreachable: true);
        }
        catch (HttpRequestException e)
        {
            throw new OriginException(BadGateway, $"origin {url.Authority} unreachable: {e.Message}", unreachable: true);
        }
    }

    /// <summary>Reads the answer up to <see cref="MaxResponseBytes"/>, growing from a few KiB as needed.</summary>
    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var text = new MemoryStream(8 * 1024);
        var buffer = new byte[8 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (text.Length + read > MaxResponseBytes)
            {
                throw new OriginException(BadGateway, $"origin answer larger than {MaxResponseBytes} bytes");
            }

            text.Write(buffer, 0, read);
        }

        return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }

    public void Dispose() => _http?.Dispose();
}

/// <summary>What an origin answered.</summary>
internal sealed record OriginResponse(int Status, string? ContentType, string Body, string? ETag, Uri? Location, string[] Links)
{
    public bool IsSuccess => Status is >= 200 and < 300;
}

/// <summary>The origin could not be used; <see cref="Status"/> is what the player gets (502 or 504).</summary>
internal sealed class OriginException(int status, string message, bool unreachable = false) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>
    /// The origin refused the connection, broke it, or did not answer in time: it is down or stalled, not
    /// merely answering badly, so it goes into quarantine and the request may try another origin.
    /// </summary>
    public bool Unreachable { get; } = unreachable;
}
