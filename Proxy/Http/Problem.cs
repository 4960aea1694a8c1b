using System.Globalization;
using System.Text.Json;

namespace SrsProxy.Http;

/// <summary>
/// Error answers as RFC 9457 problem details: a status, a short title and the reason, never a stack trace.
/// </summary>
internal static class Problem
{
    public static Task WriteAsync(HttpContext context, int status, string detail, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        if (retryAfter is { } wait)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        var body = new ProblemDetails(
            "about:blank",
            Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
            status,
            detail);
        return response.WriteAsync(JsonSerializer.Serialize(body, HttpJsonContext.Default.ProblemDetails));
    }
}
