using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace SrsProxy.Http;

/// <summary>Writes a JSON answer with source-generated metadata (no reflection).</summary>
internal static class JsonAnswer
{
    public static Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(value, type), context.RequestAborted);
    }

    /// <summary><c>GET /api/v1/versions</c>, which every HTTP listener answers.</summary>
    public static Task WriteVersionAsync(HttpContext context) =>
        WriteAsync(context, VersionAnswer.Current, HttpJsonContext.Default.VersionAnswer);
}
