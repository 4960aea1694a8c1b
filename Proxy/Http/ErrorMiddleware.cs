using SrsProxy.Registry;

namespace SrsProxy.Http;

/// <summary>
/// The last word on failures in any handler: a shared registry that cannot be reached is a 503 with
/// <c>Retry-After</c>; anything else is logged and answered 500 with a problem document, never a stack trace.
/// </summary>
internal static partial class ErrorMiddleware
{
    public static async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        try
        {
            await next();
        }
        catch (RegistryUnavailableException e)
        {
            await Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message, TimeSpan.FromSeconds(3));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ErrorMiddleware).FullName!);
            LogUnhandled(logger, context.Request.Method, context.Request.Path, e);
            await Problem.WriteAsync(context, StatusCodes.Status500InternalServerError, "internal error; see the proxy's log");
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string method, string path, Exception exception);
}
