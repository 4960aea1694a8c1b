using System.Net;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// Fetches a profile from the proxy's GO_PPROF endpoint (Go's net/http/pprof paths) and saves it as it comes.
/// A proxy without the endpoint is not an error: the answer says what happened instead of a file name.
/// </summary>
internal static class Pprof
{
    /// <summary>How an answer starts when no file was saved.</summary>
    public const string NotTaken = "not taken: ";
    public static async Task<string> FetchAsync(Uri? pprofBase, string path, string file, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (pprofBase is null)
        {
            return NotTaken + "no --pprof URL";
        }

        var url = new Uri(new Uri(pprofBase.AbsoluteUri.TrimEnd('/') + "/"), path);
        using var http = new HttpClient { Timeout = timeout };
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return $"{NotTaken}{url} answered 404 (no pprof endpoint in this proxy build)";
            }

            if (!response.IsSuccessStatusCode)
            {
                return $"{NotTaken}{url} answered HTTP {(int)response.StatusCode}";
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            await using (var output = File.Create(file))
            {
                await response.Content.CopyToAsync(output, cancellationToken);
            }

            return $"{file} ({new FileInfo(file).Length} bytes, {response.Content.Headers.ContentType?.MediaType ?? "no content type"})";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return $"{NotTaken}{url}: {e.Message}";
        }
    }
}
