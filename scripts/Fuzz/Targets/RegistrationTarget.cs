using System.Text.Json;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// The body an SRS origin posts to <c>/api/v1/srs/register</c>, parsed as the system API does (JSON with a
/// depth cap, then <see cref="RegistrationParser.TryParse"/>). An accepted origin has bounded fields, every
/// endpoint prints as text that parses back to itself, and the URLs the proxy builds from it are valid.
/// </summary>
internal sealed class RegistrationTarget : IFuzzTarget
{
    public string Name => "registration";

    public string Description => "RegistrationParser.TryParse: bounded fields, endpoint round trip, origin URLs build";

    public void Run(byte[] input)
    {
        JsonDocument document;
        try
        {
            // As SystemApiEndpoints reads it: the body as UTF-8 text first, then JSON.
            document = JsonDocument.Parse(Inputs.Text(input), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            return;
        }

        using (document)
        {
            if (!RegistrationParser.TryParse(document.RootElement, out var origin, out var error))
            {
                Check.That(error.Length > 0, "a rejection names the problem");
                return;
            }

            Check.That(error.Length == 0, "no error on success");
            foreach (var field in new[] { origin.Server, origin.Service, origin.Pid, origin.DeviceId })
            {
                Check.That(field.Length <= RegistrationParser.MaxFieldLength && !field.Any(char.IsControl), "identity field bounded, no control characters");
            }

            Check.That(origin.Server.Length > 0 && origin.Service.Length > 0 && origin.Pid.Length > 0 && origin.Ip.Length > 0, "required fields present");
            Check.That(origin.Rtmp.Count > 0, "at least one RTMP endpoint");
            foreach (var endpoints in new[] { origin.Rtmp, origin.Http, origin.Api, origin.Srt, origin.Rtc })
            {
                Check.That(endpoints.Count <= RegistrationParser.MaxEndpointsPerProtocol, "endpoints per protocol bounded");
                foreach (var endpoint in endpoints)
                {
                    Check.That(endpoint.Port is > 0 and <= 65535, "endpoint port");
                    Check.That(OriginEndpoint.TryParse(endpoint.ToString(), out var reparsed), $"endpoint '{endpoint}' parses back");
                    Check.Equal(endpoint, reparsed, "endpoint after print and parse");

                    // The HTTP streaming proxy's target URL for this origin (HttpStreamProxy.HandleAsync).
                    _ = new Uri($"http://{origin.HostFor(endpoint)}:{endpoint.Port}/live/livestream.flv");
                }
            }

            // Signalling's base URL for the origin's API.
            _ = origin.ApiBaseUri;
            _ = origin.RtcUdpPort;
        }
    }
}
