using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Authorization;
using SrsProxy.Configuration;
using SrsProxy.Http;

namespace SrsProxy.SystemApi;

/// <summary>
/// The system API's token check (<c>PROXY_SYSTEM_API_TOKEN</c>, or srs-proxy 8.x's
/// <c>PROXY_HTTP_API_AUTH_*</c>): without it anyone who reaches the port can register an origin and take
/// streams over (SRS issue 4690). Runs after routing, so it sees the matched endpoint: every endpoint needs
/// the token unless it opts out with the standard <c>.AllowAnonymous()</c>, as probes must (a load balancer
/// has no token). Protecting by default means a new endpoint is closed until someone decides otherwise.
/// </summary>
internal static partial class BearerAuth
{
    /// <summary>RFC 6750 section 3: the challenge names the scheme, and the realm the token belongs to.</summary>
    private const string Challenge = "Bearer realm=\"srs-proxy\"";

    public static Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var token = context.RequestServices.GetRequiredService<ProxyOptions>().SystemApiToken;
        var endpoint = context.GetEndpoint();
        if (token.Length == 0 || endpoint is null || endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
        {
            return next();
        }

        var given = Presented(context.Request);
        if (given is not null && SameToken(given, token))
        {
            return next();
        }

        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BearerAuth).FullName!);
        LogRefused(logger, context.Request.Method, context.Request.Path, context.Connection.RemoteIpAddress?.ToString(), given is null ? "no Bearer token" : "wrong token");

        // RFC 6750 section 3.1: a request with no token gets the bare challenge, a wrong one error="invalid_token".
        context.Response.Headers.WWWAuthenticate = given is null ? Challenge : Challenge + ", error=\"invalid_token\"";
        return Problem.WriteAsync(context, StatusCodes.Status401Unauthorized, "this endpoint needs the system API token: Authorization: Bearer TOKEN");
    }

    /// <summary>
    /// The token of <c>Authorization: Bearer</c>, else of <c>?token=</c>, which SRS versions whose heartbeat
    /// cannot send a header put in the URL; null when neither.
    /// </summary>
    private static string? Presented(HttpRequest request)
    {
        if (BearerOf(request.Headers.Authorization.ToString()) is { } bearer)
        {
            return bearer;
        }

        var query = request.Query["token"].ToString();
        return query.Length > 0 ? query : null;
    }

    /// <summary>The token of an <c>Authorization</c> value of the Bearer scheme (case-insensitive, RFC 9110 section 11.1); null otherwise.</summary>
    internal static string? BearerOf(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var bearer = authorization[Scheme.Length..].Trim();
        return bearer.Length > 0 ? bearer : null;
    }

    /// <summary>
    /// Compares in time that depends only on the expected token's length, never on where the tokens differ or on
    /// how long the given one is: every character of the expected token is compared, and past the given token's
    /// end its last character is read again and masked off, so that each step does the same work inside and past
    /// it and the time shows no step where the expected token ends. No digest: on Linux the
    /// framework's SHA-256 is OpenSSL, and hashing here loaded libcrypto into every proxy that protects its system
    /// API with a token, about 5 MB, at the first registration.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.NoOptimization)]
    internal static bool SameToken(string given, string expected)
    {
        ReadOnlySpan<char> other = given.Length > 0 ? given : "\0";
        var last = other.Length - 1;
        var difference = given.Length ^ expected.Length;
        for (var i = 0; i < expected.Length; i++)
        {
            var inside = (i - given.Length) >> 31; // all ones while i is inside the given token, else zero
            var index = (i & inside) | (last & ~inside);
            difference |= (other[index] & inside) ^ expected[i];
        }

        return difference == 0;
    }

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "{Method} {Path} from {Remote} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string path, string? remote, string reason);
}
