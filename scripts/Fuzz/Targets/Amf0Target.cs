namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// AMF0 command bodies (<see cref="Amf0.TryDecodeAll"/>) as the RTMP proxy reads a client's connect, publish
/// and play. Decoding fails cleanly or yields values that encode and decode back to the same values, in at
/// most three times the input's size (an invalid UTF-8 byte becomes a three-byte replacement character).
/// </summary>
internal sealed class Amf0Target : IFuzzTarget
{
    public string Name => "amf0";

    public string Description => "Amf0.TryDecodeAll: bounded, Encode/Decode round trip";

    public void Run(byte[] input)
    {
        if (!Amf0.TryDecodeAll(input, out var values))
        {
            return;
        }

        Check.That(values.Count <= input.Length, "no more values than bytes");
        var encoded = Amf0.Encode([.. values]);
        Check.That(encoded.Length <= 3 * input.Length + 16, $"{encoded.Length} bytes encoded from {input.Length}");
        Check.That(Amf0.TryDecodeAll(encoded, out var decoded), "encoded values decode");
        Check.That(SameValues(values, decoded), "values after encode and decode");
    }

    private static bool SameValues(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (double x, double y) => x.Equals(y),
        (bool x, bool y) => x == y,
        (string x, string y) => x == y,
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => SameValues(p.First, p.Second)),
        (Dictionary<string, object?> x, Dictionary<string, object?> y) =>
            x.Count == y.Count && x.All(p => y.TryGetValue(p.Key, out var other) && SameValues(p.Value, other)),
        _ => false,
    };
}
