using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace SrsProxy.Profiling;

/// <summary>
/// Routes of the <c>GO_PPROF</c> listener, the paths and parameters of Go's <c>net/http/pprof</c> so that
/// <c>go tool pprof http://host:6060/debug/pprof/...</c> works unchanged. Errors are plain text, as Go's.
/// </summary>
internal static partial class PprofEndpoints
{
    private const string Prefix = "/debug/pprof";

    /// <summary>Largest <c>/symbol</c> request body: pprof asks for a few thousand addresses at most.</summary>
    private const int MaxSymbolRequestBytes = 256 * 1024;

    private static readonly (string Name, string Description)[] Index =
    [
        ("allocs", "Allocations over a window (?seconds=N, default 5): GC allocation ticks with stacks, about one per 100 KB allocated."),
        ("cmdline", "The command line of this process, arguments separated by NUL bytes."),
        ("goroutine", "Stacks of all managed threads now, the .NET counterpart of goroutines (?debug=1 grouped text, ?debug=2 full text)."),
        ("heap", "Live managed objects by type, from a GC heap snapshot (induces a full GC)."),
        ("profile", "CPU profile (?seconds=N, default 30; ?hz=N samples per second of a thread's CPU, default 100 as Go's, up to 1000): the kernel's CPU-time samples with their call chains."),
        ("symbol", "Names of code addresses seen in recent profiles."),
        ("trace", "A runtime event trace (?seconds=N, default 1) in EventPipe's .nettrace format, for PerfView or dotnet-trace convert; go tool trace cannot read it."),
    ];

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Prefix + "/", IndexAsync);
        endpoints.MapGet(Prefix + "/profile", CpuAsync);
        endpoints.MapGet(Prefix + "/allocs", AllocationsAsync);
        endpoints.MapGet(Prefix + "/heap", HeapAsync);
        endpoints.MapGet(Prefix + "/goroutine", ThreadsAsync);
        endpoints.MapGet(Prefix + "/trace", TraceAsync);
        endpoints.MapGet(Prefix + "/cmdline", CommandLineAsync);
        endpoints.MapMethods(Prefix + "/symbol", ["GET", "POST"], SymbolAsync);
        endpoints.MapGet(Prefix + "/{name}", (HttpContext context, string name) =>
            ErrorAsync(context, StatusCodes.Status404NotFound, $"Unknown profile: {name} (this .NET proxy serves {string.Join(", ", Index.Select(i => i.Name))})"));
    }

    private static Task IndexAsync(HttpContext context)
    {
        var html = new StringBuilder();
        html.Append("<html><head><title>/debug/pprof/</title></head><body>\n<p>srs-proxy (.NET) profiles, in the format of Go's net/http/pprof:</p>\n<table>\n");
        foreach (var (name, description) in Index)
        {
            var link = name is "goroutine" ? "goroutine?debug=1" : name;
            html.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"{link}\">{name}</a></td><td>{HtmlEncoder.Default.Encode(description)}</td></tr>\n");
        }

        html.Append("</table>\n<p>Read them with <code>go tool pprof http://HOST:PORT/debug/pprof/profile?seconds=30</code>.</p>\n</body></html>\n");
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync(html.ToString());
    }

    private static async Task CpuAsync(HttpContext context, Profiler profiler, ProfilingOptions options, ILoggerFactory loggers)
    {
        if (!TryGetSeconds(context, options.DefaultCpuSeconds, options.MaxSeconds, out var seconds, out var error)
            || !TryGetWholeNumber(context, "hz", "samples per second", options.DefaultCpuHz, ProfilingOptions.MaxCpuHz, out var hz, out error)
            || !TryRefuse(context, "debug", out error))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, error);
            return;
        }

        await ServeAsync(context, loggers, ProfileKind.Cpu, "profile", async token => await profiler.CpuAsync(TimeSpan.FromSeconds(seconds), hz, token));
    }

    private static async Task AllocationsAsync(HttpContext context, Profiler profiler, ProfilingOptions options, ILoggerFactory loggers)
    {
        if (!TryGetSeconds(context, options.DefaultAllocSeconds, options.MaxSeconds, out var seconds, out var error)
            || !TryGetDebug(context, 0, out _, out error))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, error);
            return;
        }

        await ServeAsync(context, loggers, ProfileKind.Allocations, "allocs", async token => await profiler.AllocationsAsync(TimeSpan.FromSeconds(seconds), token));
    }

    private static async Task HeapAsync(HttpContext context, Profiler profiler, ILoggerFactory loggers)
    {
        if (!TryRefuse(context, "seconds", out var error) || !TryGetDebug(context, 0, out _, out error))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, error);
            return;
        }

        await ServeAsync(context, loggers, ProfileKind.Heap, "heap", profiler.HeapAsync);
    }

    private static async Task ThreadsAsync(HttpContext context, Profiler profiler, ILoggerFactory loggers)
    {
        if (!TryRefuse(context, "seconds", out var error) || !TryGetDebug(context, 2, out var debug, out error))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, error);
            return;
        }

        await ServeAsync(context, loggers, ProfileKind.Threads, "goroutine", async token =>
        {
            var snapshot = await profiler.ThreadsAsync(token);
            return debug switch
            {
                0 => snapshot.ToProfile(Profiler.MainBinary).ToGzip(),
                1 => Encoding.UTF8.GetBytes(snapshot.ToGroupedText()),
                _ => Encoding.UTF8.GetBytes(snapshot.ToFullText()),
            };
        }, text: debug > 0);
    }

    private static async Task TraceAsync(HttpContext context, Profiler profiler, ProfilingOptions options, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(PprofEndpoints).FullName!);
        var seconds = options.DefaultTraceSeconds;
        if (context.Request.Query.TryGetValue("seconds", out var raw)
            && (!double.TryParse(raw.ToString(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out seconds)
                || !(seconds > 0) || seconds > options.MaxTraceSeconds))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"invalid value for \"seconds\": {raw} (a number of seconds in (0, {options.MaxTraceSeconds}])");
            return;
        }

        RecordedTrace trace;
        try
        {
            trace = await profiler.TraceAsync(TimeSpan.FromSeconds(seconds), context.RequestAborted);
        }
        catch (Exception e)
        {
            await AnswerFailureAsync(context, logger, "trace", e);
            return;
        }

        using (trace)
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.Headers.ContentDisposition = "attachment; filename=\"trace.nettrace\"";
            context.Response.ContentLength = trace.Bytes;
            await context.Response.SendFileAsync(trace.Path, context.RequestAborted);
            LogServed(logger, "trace", trace.Bytes, context.Connection.RemoteIpAddress);
        }
    }

    private static Task CommandLineAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(string.Join('\0', Environment.GetCommandLineArgs()));
    }

    /// <summary>
    /// Go's symbol protocol: GET answers whether symbols exist; a POST body (or the query) of
    /// <c>0xADDR+0xADDR</c> gets one "0xADDR name" line per known address.
    /// </summary>
    private static async Task SymbolAsync(HttpContext context, Profiler profiler)
    {
        string request;
        if (HttpMethods.IsPost(context.Request.Method))
        {
            var body = await Http.BodyReader.ReadTextAsync(context.Request, MaxSymbolRequestBytes, context.RequestAborted);
            if (body is null)
            {
                await ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"at most {MaxSymbolRequestBytes} bytes of addresses");
                return;
            }

            request = body;
        }
        else
        {
            request = Uri.UnescapeDataString(context.Request.QueryString.Value?.TrimStart('?') ?? "");
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        var answer = new StringBuilder("num_symbols: 1\n");
        foreach (var word in request.Split(['+', ' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            var hex = word.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? word[2..] : word;
            if (ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var address)
                && profiler.Symbol(address) is { } name)
            {
                answer.Append(CultureInfo.InvariantCulture, $"0x{address:x} {name}\n");
            }
        }

        await context.Response.WriteAsync(answer.ToString());
    }

    /// <summary>Runs a profile and sends it, or the matching error; nothing at all once the client went away.</summary>
    private static async Task ServeAsync(HttpContext context, ILoggerFactory loggers, ProfileKind kind, string name,
        Func<CancellationToken, Task<byte[]>> take, bool text = false)
    {
        var logger = loggers.CreateLogger(typeof(PprofEndpoints).FullName!);
        byte[] body;
        try
        {
            body = await take(context.RequestAborted);
        }
        catch (Exception e)
        {
            await AnswerFailureAsync(context, logger, Profiler.Describe(kind), e);
            return;
        }

        var response = context.Response;
        if (text)
        {
            response.ContentType = "text/plain; charset=utf-8";
        }
        else
        {
            response.ContentType = "application/octet-stream";
            response.Headers.ContentDisposition = $"attachment; filename=\"{name}\"";
        }

        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
        LogServed(logger, name, body.Length, context.Connection.RemoteIpAddress);
    }

    /// <summary>The answer to a profile that could not be taken; none when the client went away.</summary>
    private static async Task AnswerFailureAsync(HttpContext context, ILogger logger, string what, Exception e)
    {
        switch (e)
        {
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                LogAbandoned(logger, what, context.Connection.RemoteIpAddress);
                break;
            case ProfilerBusyException:
                context.Response.Headers.RetryAfter = "5";
                await ErrorAsync(context, StatusCodes.Status409Conflict, e.Message);
                break;
            case ProfileUnavailableException:
                await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message);
                break;
            case ProfileTooLargeException:
                await ErrorAsync(context, StatusCodes.Status500InternalServerError, e.Message);
                break;
            default:
                LogFailed(logger, what, e);
                await ErrorAsync(context, StatusCodes.Status500InternalServerError, $"could not take the {what}: {e.Message}");
                break;
        }
    }

    private static bool TryGetSeconds(HttpContext context, int fallback, int max, out int seconds, out string error) =>
        TryGetWholeNumber(context, "seconds", "seconds", fallback, max, out seconds, out error);

    /// <summary>A whole number from 1 to <paramref name="max"/> in the query parameter <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    private static bool TryGetWholeNumber(HttpContext context, string name, string unit, int fallback, int max, out int value, out string error)
    {
        value = fallback;
        error = "";
        if (!context.Request.Query.TryGetValue(name, out var raw))
        {
            return true;
        }

        if (!int.TryParse(raw.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < 1 || value > max)
        {
            error = $"invalid value for \"{name}\": {raw} (a whole number of {unit} from 1 to {max})";
            return false;
        }

        return true;
    }

    private static bool TryGetDebug(HttpContext context, int max, out int debug, out string error)
    {
        debug = 0;
        error = "";
        if (!context.Request.Query.TryGetValue("debug", out var raw))
        {
            return true;
        }

        if (!int.TryParse(raw.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out debug) || debug > max)
        {
            error = max == 0
                ? $"invalid value for \"debug\": {raw} (this profile is served as a profile only: debug=0)"
                : $"invalid value for \"debug\": {raw} (0, 1 or {max})";
            return false;
        }

        return true;
    }

    private static bool TryRefuse(HttpContext context, string parameter, out string error)
    {
        error = context.Request.Query.ContainsKey(parameter) ? $"\"{parameter}\" parameter is not supported for this profile type" : "";
        return error.Length == 0;
    }

    private static Task ErrorAsync(HttpContext context, int status, string message)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        return response.WriteAsync(message + "\n");
    }
}
