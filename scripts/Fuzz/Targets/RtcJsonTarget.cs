using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// SRS's JSON API, <c>POST /rtc/v1/play/</c> with <c>{"streamurl": ..., "sdp": ...}</c>, through the real
/// handler (<see cref="WebRtcSignalling.JsonApiAsync"/>) with a registry that has no origin: every body must
/// be answered 400 (not JSON, no SDP offer, no stream URL) or get as far as picking an origin (503 here);
/// nothing may escape as an exception (a 500).
/// </summary>
internal sealed class RtcJsonTarget : IFuzzTarget
{
    private WebRtcSignalling? _signalling;

    public string Name => "rtc-json";

    public string Description => "WebRtcSignalling.JsonApiAsync (/rtc/v1/play/ body): only 400 or on to the origin, never an exception";

    public void Run(byte[] input)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/rtc/v1/play/";
        context.Request.Host = new HostString("proxy.example.com");
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(input);
        context.Response.Body = new MemoryStream();
        (_signalling ??= CreateSignalling()).JsonApiAsync(context, "play").GetAwaiter().GetResult();

        var status = context.Response.StatusCode;
        var tooLarge = input.Length > WebRtcSignalling.MaxBodyBytes;
        Check.That(status == (tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest) ||
            (!tooLarge && status == StatusCodes.Status503ServiceUnavailable), $"answered {status}");
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            // Only a JSON object (with an offer and a stream URL) gets as far as the registry.
            using var document = JsonDocument.Parse(input);
            Check.Equal(JsonValueKind.Object, document.RootElement.ValueKind, "body taken by the handler");
        }
    }

    /// <summary>
    /// Built on the first input, not before: the instrumented proxy code may run only once SharpFuzz has set
    /// up its coverage map.
    /// </summary>
    private static WebRtcSignalling CreateSignalling()
    {
        var options = new ProxyOptions();
        var registry = new MemoryRegistry(options, TimeProvider.System);
        var relay = new RtcRelay(options, registry, TimeProvider.System, NullLogger<RtcRelay>.Instance);
        return new WebRtcSignalling(options, registry, relay, new OriginClient(options), TimeProvider.System, NullLogger<WebRtcSignalling>.Instance);
    }
}
