using Microsoft.Extensions.FileProviders;
using SrsProxy.Configuration;
using SrsProxy.Http;

namespace SrsProxy.HttpStream;

/// <summary>
/// Routes of <c>PROXY_HTTP_SERVER</c>: live streams (<c>.flv</c>, <c>.m3u8</c>, <c>.ts</c>) through the proxy,
/// <c>/api/v1/versions</c>, and the static files of <c>PROXY_STATIC_FILES</c> when that folder exists.
/// CORS is open, as SRS's HTTP server has it, so web players on other origins can fetch streams.
/// </summary>
internal static class HttpServerEndpoints
{
    public static void Configure(IApplicationBuilder app, ProxyOptions options)
    {
        app.Use(async (context, next) =>
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                context.Response.Headers.AccessControlAllowMethods = "GET, HEAD, OPTIONS";
                context.Response.Headers.AccessControlAllowHeaders = "*";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            await next();
        });
        app.Use(ErrorMiddleware.InvokeAsync);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "/";
            if (path == "/api/v1/versions")
            {
                await JsonAnswer.WriteVersionAsync(context);
                return;
            }

            if ((HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)) && HttpStreamProxy.IsStreamPath(path))
            {
                await context.RequestServices.GetRequiredService<HttpStreamProxy>().HandleAsync(context);
                return;
            }

            await next();
        });

        var root = Path.GetFullPath(options.StaticFiles);
        if (Directory.Exists(root))
        {
            var files = new PhysicalFileProvider(root);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files, ServeUnknownFileTypes = false });
        }

        app.Run(context => Problem.WriteAsync(context, StatusCodes.Status404NotFound, "not found"));
    }
}
