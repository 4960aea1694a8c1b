using System.Buffers.Binary;
using System.Text;

namespace SrsProxy.Rtmp;

/// <summary>
/// AMF0 values (Adobe AMF0 specification section 2) as RTMP commands carry them: numbers, booleans,
/// strings, objects, ECMA arrays, strict arrays, null and undefined. Decoding untrusted bytes never throws:
/// it fails cleanly on truncation, unknown markers, or nesting and sizes past fixed caps.
/// </summary>
internal static class Amf0
{
    private const byte Number = 0x00, Boolean = 0x01, String = 0x02, Object = 0x03, Null = 0x05, Undefined = 0x06,
        EcmaArray = 0x08, ObjectEnd = 0x09, StrictArray = 0x0A, Date = 0x0B, LongString = 0x0C;

    /// <summary>Deepest nesting accepted; RTMP commands nest one or two levels.</summary>
    private const int MaxDepth = 8;

    /// <summary>Most values read from one message (all levels together).</summary>
    private const int MaxValues = 1024;

    /// <summary>Decodes every value in a command message body; false if any is malformed.</summary>
    public static bool TryDecodeAll(ReadOnlySpan<byte> data, out List<object?> values)
    {
        values = [];
        var budget = MaxValues;
        while (!data.IsEmpty)
        {
            if (!TryDecode(ref data, 0, ref budget, out var value))
            {
                return false;
            }

            values.Add(value);
        }

        return true;
    }

    private static bool TryDecode(ref ReadOnlySpan<byte> data, int depth, ref int budget, out object? value)
    {
        value = null;
        if (data.IsEmpty || depth > MaxDepth || --budget < 0)
        {
            return false;
        }

        var marker = data[0];
        data = data[1..];
        switch (marker)
        {
            case Number:
                if (data.Length < 8)
                {
                    return false;
                }

                value = BinaryPrimitives.ReadDoubleBigEndian(data);
                data = data[8..];
                return true;
            case Boolean:
                if (data.IsEmpty)
                {
                    return false;
                }

                value = data[0] != 0;
                data = data[1..];
                return true;
            case String:
                if (!TryReadUtf8(ref data, 2, out var text))
                {
                    return false;
                }

                value = text;
                return true;
            case LongString:
                if (!TryReadUtf8(ref data, 4, out var longText))
                {
                    return false;
                }

                value = longText;
                return true;
            case Null or Undefined:
                return true;
            case Object:
                return TryReadProperties(ref data, depth, ref budget, out value);
            case EcmaArray:
                if (data.Length < 4)
                {
                    return false;
                }

                // The count is a hint only; the array ends with an object-end marker like an object.
                data = data[4..];
                return TryReadProperties(ref data, depth, ref budget, out value);
            case StrictArray:
                if (data.Length < 4)
                {
                    return false;
                }

                var count = BinaryPrimitives.ReadUInt32BigEndian(data);
                data = data[4..];
                if (count > (uint)budget)
                {
                    return false;
                }

                var list = new List<object?>((int)count);
                for (var i = 0; i < count; i++)
                {
                    if (!TryDecode(ref data, depth + 1, ref budget, out var item))
                    {
                        return false;
                    }

                    list.Add(item);
                }

                value = list;
                return true;
            case Date:
                if (data.Length < 10)
                {
                    return false;
                }

                value = BinaryPrimitives.ReadDoubleBigEndian(data);
                data = data[10..];
                return true;
            default:
                return false;
        }
    }

    private static bool TryReadProperties(ref ReadOnlySpan<byte> data, int depth, ref int budget, out object? value)
    {
        value = null;
        var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (true)
        {
            if (data.Length >= 3 && data[0] == 0 && data[1] == 0 && data[2] == ObjectEnd)
            {
                data = data[3..];
                value = properties;
                return true;
            }

            if (!TryReadUtf8(ref data, 2, out var key) || !TryDecode(ref data, depth + 1, ref budget, out var item))
            {
                return false;
            }

            properties[key] = item;
        }
    }

    private static bool TryReadUtf8(ref ReadOnlySpan<byte> data, int lengthBytes, out string text)
    {
        text = "";
        if (data.Length < lengthBytes)
        {
            return false;
        }

        var length = lengthBytes == 2 ? BinaryPrimitives.ReadUInt16BigEndian(data) : BinaryPrimitives.ReadUInt32BigEndian(data);
        data = data[lengthBytes..];
        if (length > (uint)data.Length)
        {
            return false;
        }

        text = Encoding.UTF8.GetString(data[..(int)length]);
        data = data[(int)length..];
        return true;
    }

    /// <summary>Encodes values: double, bool, string, null, and dictionaries as AMF0 objects.</summary>
    public static byte[] Encode(params object?[] values)
    {
        var buffer = new List<byte>(256);
        foreach (var value in values)
        {
            Write(buffer, value);
        }

        return [.. buffer];
    }

    private static void Write(List<byte> buffer, object? value)
    {
        switch (value)
        {
            case null:
                buffer.Add(Null);
                break;
            case double number:
                buffer.Add(Number);
                Span<byte> bytes = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(bytes, number);
                buffer.AddRange(bytes);
                break;
            case int integer:
                Write(buffer, (double)integer);
                break;
            case bool flag:
                buffer.Add(Boolean);
                buffer.Add(flag ? (byte)1 : (byte)0);
                break;
            case string text:
                var utf8 = Encoding.UTF8.GetBytes(text);
                if (utf8.Length > ushort.MaxValue)
                {
                    buffer.Add(LongString);
                    buffer.AddRange([(byte)(utf8.Length >> 24), (byte)(utf8.Length >> 16), (byte)(utf8.Length >> 8), (byte)utf8.Length]);
                }
                else
                {
                    buffer.Add(String);
                    buffer.AddRange([(byte)(utf8.Length >> 8), (byte)utf8.Length]);
                }

                buffer.AddRange(utf8);
                break;
            case IEnumerable<KeyValuePair<string, object?>> properties:
                buffer.Add(Object);
                foreach (var (key, item) in properties)
                {
                    var name = Encoding.UTF8.GetBytes(key);
                    buffer.AddRange([(byte)(name.Length >> 8), (byte)name.Length]);
                    buffer.AddRange(name);
                    Write(buffer, item);
                }

                buffer.AddRange([0, 0, ObjectEnd]);
                break;
            case List<object?> list:
                buffer.Add(StrictArray);
                buffer.AddRange([(byte)(list.Count >> 24), (byte)(list.Count >> 16), (byte)(list.Count >> 8), (byte)list.Count]);
                foreach (var item in list)
                {
                    Write(buffer, item);
                }

                break;
            default:
                throw new ArgumentException($"AMF0 cannot encode {value.GetType().Name}");
        }
    }
}
