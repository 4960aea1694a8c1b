using System.Globalization;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// One scrape of a Prometheus text endpoint (the proxy's <c>GET /metrics</c>): samples keyed by
/// <c>name{labels}</c> exactly as written. Any proxy without the endpoint gives no scrape, not an error.
/// </summary>
internal sealed class MetricsScrape
{
    private readonly Dictionary<string, double> _samples;

    private MetricsScrape(Dictionary<string, double> samples) => _samples = samples;

    public double? this[string key] => _samples.TryGetValue(key, out var value) ? value : null;

    public IEnumerable<KeyValuePair<string, double>> Samples => _samples;

    public static async Task<MetricsScrape?> FetchAsync(HttpClient http, Uri? systemApi, CancellationToken cancellationToken)
    {
        if (systemApi is null)
        {
            return null;
        }

        try
        {
            using var response = await http.GetAsync(new Uri(systemApi, "/metrics"), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            return Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    internal static MetricsScrape Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (space > 0 && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                samples[line[..space].Trim()] = value;
            }
        }

        return new MetricsScrape(samples);
    }

    /// <summary>end − start for one sample; null when either scrape lacks it.</summary>
    public static double? Delta(MetricsScrape? start, MetricsScrape? end, string key) =>
        start?[key] is { } a && end?[key] is { } b ? b - a : null;
}
