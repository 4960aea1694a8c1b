using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace SrsProxy.Metrics;

/// <summary>
/// Renders instruments in the Prometheus text format (0.0.4) for <c>GET /metrics</c>: the proxy's own meter
/// and the runtime's <c>System.Runtime</c> meter (GC, thread pool, CPU, memory). It is a
/// <see cref="MeterListener"/> like any other collector, so /metrics and dotnet-counters read the same
/// instruments. Names follow the OpenTelemetry-to-Prometheus rules: dots become underscores, a unit suffix
/// (<c>_bytes</c>, <c>_seconds</c>) is added unless present, counters end in <c>_total</c>, and attribute
/// names become label names the same way. Histograms are not rendered; neither meter has one.
/// </summary>
internal sealed class PrometheusExporter : IDisposable
{
    private const string RuntimeMeterName = "System.Runtime";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> _series = new();
    private readonly Lock _collecting = new();

    public PrometheusExporter(ProxyMetrics metrics)
    {
        var own = metrics.Meter;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // By reference: several proxies in one process (as in the tests) each have a meter of this name.
            if ((ReferenceEquals(instrument.Meter, own) || instrument.Meter.Name == RuntimeMeterName) && Series.For(instrument) is { } series)
            {
                _series[instrument] = series;
                listener.EnableMeasurementEvents(instrument, series);
            }
        };
        _listener.MeasurementsCompleted = (instrument, _) => _series.TryRemove(instrument, out Series? _);
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Series)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Observes every observable instrument now and renders all of them.</summary>
    public string Collect()
    {
        lock (_collecting)
        {
            foreach (var series in _series.Values)
            {
                series.BeginCollect();
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder(8192);
            foreach (var series in _series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                series.Write(text);
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>One instrument's values, by label set.</summary>
    private sealed class Series
    {
        private readonly ConcurrentDictionary<string, double> _values = new(StringComparer.Ordinal);
        private readonly bool _observable;
        private readonly bool _sum;

        private Series(string name, string type, string help, bool observable, bool sum)
        {
            Name = name;
            Type = type;
            Help = help;
            _observable = observable;
            _sum = sum;
        }

        public string Name { get; }

        private string Type { get; }

        private string Help { get; }

        public static Series? For(Instrument instrument)
        {
            if (!instrument.GetType().IsGenericType)
            {
                return null;
            }

            var kind = instrument.GetType().GetGenericTypeDefinition();
            var counter = kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>);
            var gauge = kind == typeof(UpDownCounter<>) || kind == typeof(ObservableUpDownCounter<>) ||
                kind == typeof(ObservableGauge<>) || kind == typeof(Gauge<>);
            if (!counter && !gauge)
            {
                return null;
            }

            var sum = kind == typeof(Counter<>) || kind == typeof(UpDownCounter<>);
            return new Series(NameOf(instrument, counter), counter ? "counter" : "gauge", instrument.Description ?? instrument.Name,
                instrument.IsObservable, sum);
        }

        /// <summary>An observable instrument reports whole values each collection; forget the last ones.</summary>
        public void BeginCollect()
        {
            if (_observable)
            {
                _values.Clear();
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            if (_sum)
            {
                _values.AddOrUpdate(labels, value, (_, old) => old + value);
            }
            else
            {
                _values[labels] = value;
            }
        }

        public void Write(StringBuilder text)
        {
            if (_values.IsEmpty)
            {
                return;
            }

            text.Append("# HELP ").Append(Name).Append(' ').Append(Help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(' ').Append(Type).Append('\n');
            foreach (var (labels, value) in _values.OrderBy(v => v.Key, StringComparer.Ordinal))
            {
                text.Append(Name);
                if (labels.Length > 0)
                {
                    text.Append('{').Append(labels).Append('}');
                }

                text.Append(' ').Append(Number(value)).Append('\n');
            }
        }

        private static string NameOf(Instrument instrument, bool counter)
        {
            var name = Sanitize(instrument.Name);
            var unit = instrument.Unit switch
            {
                "By" => "bytes",
                "s" => "seconds",
                "ms" => "milliseconds",
                _ => null,
            };
            if (unit is not null && !name.EndsWith("_" + unit, StringComparison.Ordinal))
            {
                name += "_" + unit;
            }

            return counter ? name + "_total" : name;
        }

        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty)
            {
                return "";
            }

            var pairs = new (string Key, string Value)[tags.Length];
            for (var i = 0; i < tags.Length; i++)
            {
                pairs[i] = (Sanitize(tags[i].Key), Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "");
            }

            Array.Sort(pairs, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var text = new StringBuilder();
            foreach (var (key, value) in pairs)
            {
                if (text.Length > 0)
                {
                    text.Append(',');
                }

                text.Append(key).Append("=\"").Append(value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n")).Append('"');
            }

            return text.ToString();
        }

        private static string Sanitize(string name)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] != '_' && chars[i] != ':')
                {
                    chars[i] = '_';
                }
            }

            return new string(chars);
        }

        private static string Number(double value) => value switch
        {
            double.NaN => "NaN",
            double.PositiveInfinity => "+Inf",
            double.NegativeInfinity => "-Inf",
            _ when value == Math.Floor(value) && Math.Abs(value) < 9e15 => ((long)value).ToString(CultureInfo.InvariantCulture),
            _ => value.ToString("R", CultureInfo.InvariantCulture),
        };
    }
}
