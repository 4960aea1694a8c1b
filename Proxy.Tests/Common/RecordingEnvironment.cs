using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace SrsProxy.Tests.Common;

/// <summary>An environment for <c>ProxyOptionsParser.Parse</c> that remembers every name the parser looked up.</summary>
internal sealed class RecordingEnvironment(IReadOnlyDictionary<string, string> values) : IReadOnlyDictionary<string, string>
{
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    public IReadOnlySet<string> Asked => _asked;

    public string this[string key] => Record(key, values[key]);

    public IEnumerable<string> Keys => values.Keys;

    public IEnumerable<string> Values => values.Values;

    public int Count => values.Count;

    public bool ContainsKey(string key) => Record(key, values.ContainsKey(key));

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value) => Record(key, values.TryGetValue(key, out value));

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private T Record<T>(string key, T result)
    {
        _asked.Add(key);
        return result;
    }
}
