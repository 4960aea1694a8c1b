using System.IO.Compression;

namespace SrsProxy.Bench.Measure;

/// <summary>
/// The live managed heap of a .NET proxy, from its GO_PPROF <c>heap</c> profile (taken after a full
/// collection): the sum of the <c>inuse_space</c> values. Reads just enough of pprof's profile.proto
/// (sample_type = 1, sample = 2, string_table = 6) to add them up.
/// </summary>
internal static class HeapProfile
{
    public static async Task<long?> LiveBytesAsync(Uri? pprofBase, CancellationToken cancellationToken)
    {
        if (pprofBase is null)
        {
            return null;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            var url = new Uri(new Uri(pprofBase.AbsoluteUri.TrimEnd('/') + "/"), "debug/pprof/heap");
            using var response = await http.GetAsync(url, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return null;
            }

            await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(cancellationToken), CompressionMode.Decompress);
            using var raw = new MemoryStream();
            await gzip.CopyToAsync(raw, cancellationToken);
            return SumInUseSpace(raw.ToArray());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or InvalidDataException)
        {
            return null;
        }
    }

    internal static long? SumInUseSpace(ReadOnlySpan<byte> profile)
    {
        var types = new List<long>();
        var samples = new List<List<long>>();
        var strings = new List<string>();
        var reader = new Reader(profile);
        while (!reader.End)
        {
            var (field, wire) = reader.Key();
            if (wire != 2)
            {
                reader.Skip(wire);
                continue;
            }

            var body = reader.Bytes();
            switch (field)
            {
                case 1:
                    types.Add(FirstVarint(body, 1));
                    break;
                case 2:
                    samples.Add(Values(body));
                    break;
                case 6:
                    strings.Add(System.Text.Encoding.UTF8.GetString(body));
                    break;
            }
        }

        var index = types.FindIndex(t => t >= 0 && t < strings.Count && strings[(int)t] == "inuse_space");
        return index < 0 ? null : samples.Where(v => v.Count > index).Sum(v => v[index]);
    }

    private static long FirstVarint(ReadOnlySpan<byte> message, int wanted)
    {
        var reader = new Reader(message);
        while (!reader.End)
        {
            var (field, wire) = reader.Key();
            if (field == wanted && wire == 0)
            {
                return (long)reader.Varint();
            }

            reader.Skip(wire);
        }

        return -1;
    }

    /// <summary>Sample.value (field 2), packed or not.</summary>
    private static List<long> Values(ReadOnlySpan<byte> sample)
    {
        var values = new List<long>();
        var reader = new Reader(sample);
        while (!reader.End)
        {
            var (field, wire) = reader.Key();
            if (field == 2 && wire == 2)
            {
                var packed = new Reader(reader.Bytes());
                while (!packed.End)
                {
                    values.Add((long)packed.Varint());
                }
            }
            else if (field == 2 && wire == 0)
            {
                values.Add((long)reader.Varint());
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return values;
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool End => _position >= _data.Length;

        public (int Field, int Wire) Key()
        {
            var key = Varint();
            return ((int)(key >> 3), (int)(key & 7));
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _data.Length)
                {
                    throw new InvalidDataException("truncated varint");
                }

                var b = _data[_position++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("varint too long");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = checked((int)Varint());
            if (length < 0 || _position + length > _data.Length)
            {
                throw new InvalidDataException("truncated field");
            }

            var bytes = _data.Slice(_position, length);
            _position += length;
            return bytes;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    _position += 8;
                    break;
                case 2:
                    Bytes();
                    break;
                case 5:
                    _position += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire}");
            }
        }
    }
}
