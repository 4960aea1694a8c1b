using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>What a <see cref="NettraceReader"/> hands its events to.</summary>
internal interface INettraceSink
{
    /// <summary>
    /// Called once per kind of event the stream describes: returns the handler number the kind's events are to be
    /// given to <see cref="OnEvent"/> with, 0 to skip them unread.
    /// </summary>
    int Handler(string provider, int eventId, int version);

    void OnEvent(int handler, int version, ReadOnlySpan<byte> payload);
}

/// <summary>
/// Reads an EventPipe NetTrace stream (format version 4 and 5: the header, the Trace object, then metadata, event,
/// stack and sequence-point blocks; PerfView's <c>NetTraceFormat_v5.md</c>) as it arrives, one block at a time,
/// and hands the payload of each wanted event to an <see cref="INettraceSink"/>. Stacks are skipped. Events the
/// runtime dropped show as gaps in each recording thread's sequence numbers (<see cref="EventsLost"/>).
/// <para>
/// It replaces TraceEvent for the CPU profile's method rundown: no file between the runtime and the reader, no
/// general-purpose decoding of the 40,000 events nobody asked about, and none of TraceEvent's machinery for
/// the JIT to compile in the window a first profile measures.
/// </para>
/// </summary>
internal sealed class NettraceReader
{
    private const byte NullReference = 1;
    private const byte BeginPrivateObject = 5;
    private const byte EndObject = 6;

    /// <summary>Of a block's header flags: event headers are compressed.</summary>
    private const short CompressedHeaders = 1;

    private readonly Stream _source;
    private readonly long _maxBytes;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly Dictionary<int, (int Handler, int Version)> _kinds = [];
    private readonly Dictionary<ulong, uint> _lastSequence = [];
    private byte[] _block = new byte[128 * 1024];
    private int _start;
    private int _end;
    private long _position;

    /// <param name="source">The stream, from its first byte ("Nettrace").</param>
    /// <param name="maxBytes">Past this many bytes the stream is refused as too large (<see cref="ProfileTooLargeException"/>).</param>
    public NettraceReader(Stream source, long maxBytes)
    {
        _source = source;
        _maxBytes = maxBytes;
    }

    /// <summary>Bytes read so far.</summary>
    public long Position => _position;

    /// <summary>Events the runtime recorded no room for, from the gaps in sequence numbers.</summary>
    public long EventsLost { get; private set; }

    /// <summary>Reads the stream to its end (the NullReference tag), handing wanted events to <paramref name="sink"/>.</summary>
    public void Read(INettraceSink sink)
    {
        Expect("Nettrace"u8);
        if (ReadInt32() != 20)
        {
            throw Malformed("no FastSerialization header");
        }

        Expect("!FastSerialization.1"u8);
        while (true)
        {
            var tag = ReadByte();
            if (tag == NullReference)
            {
                return;
            }

            if (tag != BeginPrivateObject)
            {
                throw Malformed($"tag {tag} where an object begins");
            }

            var type = ReadType();
            switch (type)
            {
                case "Trace":
                    // Sync time (8 shorts), QPC sync time and frequency, pointer size, process id, processors, sampling rate.
                    Skip(16 + 8 + 8 + (4 * 4));
                    break;
                case "MetadataBlock":
                    ReadEventBlock(sink, metadata: true);
                    break;
                case "EventBlock":
                    ReadEventBlock(sink, metadata: false);
                    break;
                case "SPBlock":
                    ReadSequencePoints();
                    break;
                default:
                    // StackBlock, and any later kind of block: all are a size, alignment, then the bytes.
                    ReadBlock();
                    break;
            }

            if (ReadByte() != EndObject)
            {
                throw Malformed($"{type} does not end where its size says");
            }
        }
    }

    /// <summary>The type object that follows an object's begin tag: its name (version numbers are not needed here).</summary>
    private string ReadType()
    {
        if (ReadByte() != BeginPrivateObject || ReadByte() != NullReference)
        {
            throw Malformed("an object without a type");
        }

        Skip(8); // version, minimum reader version
        var length = ReadInt32();
        if (length is < 1 or > 64)
        {
            throw Malformed($"a type name of {length} bytes");
        }

        Span<byte> name = stackalloc byte[length];
        ReadExactly(name);
        if (ReadByte() != EndObject)
        {
            throw Malformed("a type object that does not end");
        }

        return System.Text.Encoding.UTF8.GetString(name);
    }

    /// <summary>A block's size, the padding to a 4-byte stream offset, then the block read whole into <see cref="_block"/>.</summary>
    private ReadOnlySpan<byte> ReadBlock()
    {
        var size = ReadInt32();
        if (size < 0 || size > 64 * 1024 * 1024)
        {
            throw Malformed($"a block of {size} bytes");
        }

        Skip((int)((4 - (_position % 4)) % 4));
        if (_block.Length < size)
        {
            _block = new byte[Math.Max(size, _block.Length * 2)];
        }

        var block = _block.AsSpan(0, size);
        ReadExactly(block);
        return block;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReadEventBlock(INettraceSink sink, bool metadata)
    {
        var block = ReadBlock();
        if (block.Length < 4)
        {
            throw Malformed("an event block without a header");
        }

        var headerSize = BinaryPrimitives.ReadInt16LittleEndian(block);
        var flags = BinaryPrimitives.ReadInt16LittleEndian(block[2..]);
        if (headerSize < 4 || headerSize > block.Length)
        {
            throw Malformed($"an event block header of {headerSize} bytes");
        }

        var at = (int)headerSize;
        var compressed = (flags & CompressedHeaders) != 0;

        // Compressed headers hold what changed since the previous event of the block; each block starts from zeros.
        int metadataId = 0, payloadSize = 0;
        uint sequence = 0;
        ulong captureThread = 0;
        while (at < block.Length)
        {
            if (compressed)
            {
                var eventFlags = block[at++];
                if ((eventFlags & 0x01) != 0)
                {
                    metadataId = (int)ReadVarUInt32(block, ref at);
                }

                if ((eventFlags & 0x02) != 0)
                {
                    sequence += ReadVarUInt32(block, ref at);
                    captureThread = ReadVarUInt64(block, ref at);
                    ReadVarUInt32(block, ref at); // processor
                }

                if (metadataId != 0)
                {
                    sequence++;
                }

                if ((eventFlags & 0x04) != 0)
                {
                    ReadVarUInt64(block, ref at); // thread
                }

                if ((eventFlags & 0x08) != 0)
                {
                    ReadVarUInt32(block, ref at); // stack
                }

                ReadVarUInt64(block, ref at); // timestamp delta
                at += ((eventFlags & 0x10) != 0 ? 16 : 0) + ((eventFlags & 0x20) != 0 ? 16 : 0); // activity ids
                if ((eventFlags & 0x80) != 0)
                {
                    payloadSize = (int)ReadVarUInt32(block, ref at);
                }
            }
            else
            {
                // Size, metadata id (top bit: sorted), sequence, thread, capture thread, processor, stack,
                // timestamp, two activity ids, payload size; then the payload and padding to 4 bytes.
                if (at + 80 > block.Length)
                {
                    throw Malformed("an event header past its block");
                }

                metadataId = BinaryPrimitives.ReadInt32LittleEndian(block[(at + 4)..]) & int.MaxValue;
                sequence = BinaryPrimitives.ReadUInt32LittleEndian(block[(at + 8)..]);
                captureThread = BinaryPrimitives.ReadUInt64LittleEndian(block[(at + 20)..]);
                payloadSize = BinaryPrimitives.ReadInt32LittleEndian(block[(at + 76)..]);
                at += 80;
            }

            if (payloadSize < 0 || payloadSize > block.Length - at)
            {
                throw Malformed("an event payload past its block");
            }

            var payload = block.Slice(at, payloadSize);
            at += payloadSize;
            if (!compressed)
            {
                at = (at + 3) & ~3;
            }

            if (metadata)
            {
                Describe(sink, payload);
                continue;
            }

            CountLost(captureThread, sequence);
            if (_kinds.TryGetValue(metadataId, out var kind) && kind.Handler != 0)
            {
                sink.OnEvent(kind.Handler, kind.Version, payload);
            }
        }
    }

    /// <summary>
    /// A metadata record: its id, then the provider (UTF-16, zero-terminated), the event's id, name, keywords,
    /// version and level; the field descriptions after that are not needed.
    /// </summary>
    private void Describe(INettraceSink sink, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            throw Malformed("a metadata record without an id");
        }

        var id = BinaryPrimitives.ReadInt32LittleEndian(payload);
        var at = 4;
        var provider = ReadUtf16(payload, ref at);
        var eventId = ReadInt32(payload, ref at);
        ReadUtf16(payload, ref at); // event name, empty for the runtime's own events
        at += 8; // keywords
        var version = ReadInt32(payload, ref at);
        _kinds[id] = (sink.Handler(provider, eventId, version), version);
    }

    private void ReadSequencePoints()
    {
        var block = ReadBlock();
        if (block.Length < 12)
        {
            return;
        }

        var threads = BinaryPrimitives.ReadInt32LittleEndian(block[8..]);
        for (var i = 0; i < threads && 12 + (i * 12) + 12 <= block.Length; i++)
        {
            var entry = block[(12 + (i * 12))..];
            var thread = BinaryPrimitives.ReadUInt64LittleEndian(entry);
            var sequence = BinaryPrimitives.ReadUInt32LittleEndian(entry[8..]);

            // The runtime's count of events the thread tried to write: past the last one read, the rest were dropped.
            if (_lastSequence.TryGetValue(thread, out var last) && (int)(sequence - last) > 0)
            {
                EventsLost += sequence - last;
                _lastSequence[thread] = sequence;
            }
        }
    }

    private void CountLost(ulong thread, uint sequence)
    {
        if (_lastSequence.TryGetValue(thread, out var last) && sequence != last + 1 && (int)(sequence - last) > 0)
        {
            EventsLost += sequence - last - 1;
        }

        _lastSequence[thread] = sequence;
    }

    /// <summary>A zero-terminated UTF-16 string at <paramref name="at"/>; moves past its terminator.</summary>
    public static string ReadUtf16(ReadOnlySpan<byte> payload, ref int at)
    {
        var rest = payload[at..];
        var chars = MemoryMarshal.Cast<byte, char>(rest[..(rest.Length & ~1)]);
        var length = chars.IndexOf('\0');
        if (length < 0)
        {
            throw Malformed("a string without its terminator");
        }

        at += (length + 1) * 2;
        return new string(chars[..length]);
    }

    private static int ReadInt32(ReadOnlySpan<byte> payload, ref int at)
    {
        if (at + 4 > payload.Length)
        {
            throw Malformed("a payload shorter than its fields");
        }

        var value = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
        at += 4;
        return value;
    }

    private static uint ReadVarUInt32(ReadOnlySpan<byte> block, ref int at) => (uint)ReadVarUInt64(block, ref at);

    private static ulong ReadVarUInt64(ReadOnlySpan<byte> block, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= block.Length)
            {
                throw Malformed("a number past its block");
            }

            var b = block[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw Malformed("a number longer than 64 bits");
    }

    private void Expect(ReadOnlySpan<byte> expected)
    {
        Span<byte> actual = stackalloc byte[expected.Length];
        ReadExactly(actual);
        if (!actual.SequenceEqual(expected))
        {
            throw Malformed("not a NetTrace stream");
        }
    }

    private int ReadInt32()
    {
        Span<byte> value = stackalloc byte[4];
        ReadExactly(value);
        return BinaryPrimitives.ReadInt32LittleEndian(value);
    }

    private byte ReadByte()
    {
        Span<byte> value = stackalloc byte[1];
        ReadExactly(value);
        return value[0];
    }

    private void Skip(int count)
    {
        Span<byte> scratch = stackalloc byte[64];
        while (count > 0)
        {
            var part = Math.Min(count, scratch.Length);
            ReadExactly(scratch[..part]);
            count -= part;
        }
    }

    /// <summary>Fills <paramref name="destination"/> from the buffer, refilling it from the stream as needed.</summary>
    private void ReadExactly(Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = _source.Read(_buffer);
                if (_end == 0)
                {
                    throw Malformed("the stream ended inside an object");
                }
            }

            var part = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, part).CopyTo(destination);
            _start += part;
            _position += part;
            destination = destination[part..];
        }

        if (_position > _maxBytes)
        {
            throw new ProfileTooLargeException($"the method rundown passed {_maxBytes / (1024 * 1024)} MiB");
        }
    }

    private static InvalidDataException Malformed(string what) => new($"NetTrace stream: {what}");
}
