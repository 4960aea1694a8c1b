using System.Text.Json;
using SrsProxy.Http;
using SrsProxy.Registry;

namespace SrsProxy.SystemApi;

/// <summary>
/// Routes of <c>PROXY_SYSTEM_API</c>: origins register here, and operators read the registry and relay.
/// </summary>
internal static partial class SystemApiEndpoints
{
    /// <summary>Largest registration body; SRS's is under 1 KiB.</summary>
    internal const int MaxRegisterBytes = 16 * 1024;

    /// <summary>
    /// With a token set, every route needs it (<see cref="BearerAuth"/>) except those marked
    /// <c>AllowAnonymous</c>: the health check, which the reference's own probes call without one, and the
    /// metrics, aggregate counts that scrapers read.
    /// </summary>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/v1/srs/register", RegisterAsync);
        endpoints.MapGet("/api/v1/versions", (HttpContext context) => JsonAnswer.WriteVersionAsync(context)).AllowAnonymous();
        endpoints.MapGet("/api/v1/origins", OriginsAsync);
        endpoints.MapGet("/api/v1/streams", StreamsAsync);
        endpoints.MapGet("/api/v1/sessions", SessionsAsync);
        endpoints.MapGet("/metrics", Metrics.MetricsEndpoint.WriteAsync).AllowAnonymous();
    }

    private static async Task RegisterAsync(HttpContext context, IProxyRegistry registry, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(SystemApiEndpoints).FullName!);
        var text = await BodyReader.ReadTextAsync(context.Request, MaxRegisterBytes, context.RequestAborted);
        if (text is null)
        {
            await Problem.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"body larger than {MaxRegisterBytes} bytes");
            return;
        }

        OriginServer origin;
        string error;
        try
        {
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 8 });
            if (!RegistrationParser.TryParse(document.RootElement, out origin, out error))
            {
                LogRejected(logger, context.Connection.RemoteIpAddress?.ToString(), error);
                await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, error);
                return;
            }
        }
        catch (JsonException e)
        {
            error = $"body: not JSON ({e.Message})";
            LogRejected(logger, context.Connection.RemoteIpAddress?.ToString(), error);
            await Problem.WriteAsync(context, StatusCodes.Status400BadRequest, error);
            return;
        }

        bool isNew;
        try
        {
            isNew = await registry.RegisterOriginAsync(origin, context.RequestAborted);
        }
        catch (Exception e) when (e is RegistryFullException or RegistryUnavailableException)
        {
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message, TimeSpan.FromSeconds(10));
            return;
        }

        if (isNew)
        {
            LogRegistered(logger, origin.Id, origin.Ip, string.Join(' ', origin.Api), string.Join(' ', origin.Rtc));
        }

        await JsonAnswer.WriteAsync(context, new RegisterAnswer(0, VersionAnswer.Current.Pid), SystemApiJsonContext.Default.RegisterAnswer);
    }

    private static async Task OriginsAsync(HttpContext context, OperatorView view) =>
        await JsonAnswer.WriteAsync(context, new OriginsAnswer(0, await view.OriginsAsync(context.RequestAborted)), SystemApiJsonContext.Default.OriginsAnswer);

    private static async Task StreamsAsync(HttpContext context, OperatorView view) =>
        await JsonAnswer.WriteAsync(context, new StreamsAnswer(0, await view.StreamsAsync(context.RequestAborted)), SystemApiJsonContext.Default.StreamsAnswer);

    private static Task SessionsAsync(HttpContext context, OperatorView view) =>
        JsonAnswer.WriteAsync(context, new SessionsAnswer(0, view.Sessions()), SystemApiJsonContext.Default.SessionsAnswer);

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Origin {OriginId} at {Ip} registered (api {Api}, rtc {Rtc})")]
    private static partial void LogRegistered(ILogger logger, string originId, string ip, string api, string rtc);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Registration from {Remote} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string? remote, string reason);
}
