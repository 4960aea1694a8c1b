using System.Buffers;
using System.Buffers.Binary;

namespace SrsProxy.Rtmp;

/// <summary>
/// Reassembles RTMP messages from a peer's chunk stream (RTMP specification section 5.3). Written for
/// untrusted input: chunk streams, message sizes and buffered bytes are capped, and every violation is an
/// <see cref="RtmpProtocolException"/>. Each chunk stream reuses one pooled buffer: nothing is allocated per
/// message once the buffers have grown to the stream's largest message.
/// </summary>
internal sealed class RtmpChunkReader : IDisposable
{
    /// <summary>Chunk streams one connection may use; encoders use a handful.</summary>
    internal const int MaxChunkStreams = 32;

    /// <summary>Largest chunk size a peer may set (the specification allows up to 2^31-1; 64 KiB is plenty).</summary>
    internal const int MaxChunkSize = 65536;

    private readonly Stream _input;
    private readonly Dictionary<int, ChunkStream> _streams = [];
    private readonly byte[] _header = new byte[16];
    private int _chunkSize = 128;

    public RtmpChunkReader(Stream input) => _input = input;

    /// <summary>Largest message accepted; small before the stream is known, larger once media flows.</summary>
    public int MaxMessageSize { get; set; } = 64 * 1024;

    /// <summary>Most bytes held in unfinished messages at once, across chunk streams.</summary>
    public int MaxBufferedBytes { get; set; } = 256 * 1024;

    /// <summary>Bytes read from the peer so far, for acknowledgements.</summary>
    public long BytesRead { get; private set; }

    public void SetChunkSize(int size)
    {
        if (size is < 1 or > MaxChunkSize)
        {
            throw new RtmpProtocolException($"chunk size {size} outside 1..{MaxChunkSize}");
        }

        _chunkSize = size;
    }

    /// <summary>Reads chunks until a message is complete; null at a clean end of stream between chunks.</summary>
    public async ValueTask<RtmpMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!await TryFillAsync(1, cancellationToken, allowEnd: true))
            {
                return null;
            }

            var fmt = _header[0] >> 6;
            var csid = _header[0] & 0x3F;
            if (csid == 0)
            {
                await FillAsync(1, cancellationToken);
                csid = 64 + _header[0];
            }
            else if (csid == 1)
            {
                await FillAsync(2, cancellationToken);
                csid = 64 + _header[0] + (_header[1] << 8);
            }

            if (!_streams.TryGetValue(csid, out var stream))
            {
                if (fmt != 0)
                {
                    throw new RtmpProtocolException($"chunk stream {csid} starts with a type {fmt} header");
                }

                if (_streams.Count >= MaxChunkStreams)
                {
                    throw new RtmpProtocolException($"more than {MaxChunkStreams} chunk streams");
                }

                stream = new ChunkStream();
                _streams[csid] = stream;
            }

            await ReadMessageHeaderAsync(fmt, stream, cancellationToken);
            var toRead = Math.Min(_chunkSize, stream.Length - stream.Received);
            if (toRead > 0)
            {
                var read = await _input.ReadAtLeastAsync(stream.Buffer.AsMemory(stream.Received, toRead), toRead, throwOnEndOfStream: false, cancellationToken);
                BytesRead += read;
                if (read < toRead)
                {
                    throw new RtmpProtocolException("connection closed in the middle of a chunk");
                }

                stream.Received += toRead;
            }

            if (stream.Received == stream.Length)
            {
                stream.Received = 0;
                stream.InProgress = false;
                return new RtmpMessage(stream.TypeId, stream.Timestamp, stream.StreamId, stream.Buffer.AsMemory(0, stream.Length));
            }
        }
    }

    private async ValueTask ReadMessageHeaderAsync(int fmt, ChunkStream stream, CancellationToken cancellationToken)
    {
        var starting = !stream.InProgress;
        if (!starting && fmt != 3)
        {
            // A new header in the middle of a message: the previous message is abandoned (RTMP peers do this
            // only with an Abort message first; accept it the same way).
            starting = true;
        }

        uint timestampField = 0;
        switch (fmt)
        {
            case 0:
                await FillAsync(11, cancellationToken);
                timestampField = ReadUInt24(0);
                stream.Length = (int)ReadUInt24(3);
                stream.TypeId = _header[6];
                stream.StreamId = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(7));
                break;
            case 1:
                await FillAsync(7, cancellationToken);
                timestampField = ReadUInt24(0);
                stream.Length = (int)ReadUInt24(3);
                stream.TypeId = _header[6];
                break;
            case 2:
                await FillAsync(3, cancellationToken);
                timestampField = ReadUInt24(0);
                break;
        }

        var extended = fmt == 3 ? stream.Extended : timestampField == 0xFFFFFF;
        if (extended)
        {
            await FillAsync(4, cancellationToken);
            timestampField = BinaryPrimitives.ReadUInt32BigEndian(_header);
        }

        if (fmt != 3)
        {
            stream.Extended = timestampField >= 0xFFFFFF && extended;
        }

        if (starting)
        {
            switch (fmt)
            {
                case 0:
                    stream.Timestamp = timestampField;
                    stream.Delta = timestampField;
                    break;
                case 1 or 2:
                    stream.Delta = timestampField;
                    stream.Timestamp += timestampField;
                    break;
                default:
                    stream.Timestamp += stream.Delta;
                    break;
            }

            if (stream.Length > MaxMessageSize)
            {
                throw new RtmpProtocolException($"message of {stream.Length} bytes over the {MaxMessageSize} limit");
            }

            EnsureCapacity(stream);
            stream.Received = 0;
            stream.InProgress = true;
        }
    }

    private void EnsureCapacity(ChunkStream stream)
    {
        if (stream.Buffer.Length >= stream.Length)
        {
            return;
        }

        var buffered = _streams.Values.Sum(s => s.Buffer.Length) - stream.Buffer.Length + stream.Length;
        if (buffered > MaxBufferedBytes)
        {
            throw new RtmpProtocolException($"unfinished messages would hold {buffered} bytes, over the {MaxBufferedBytes} limit");
        }

        if (stream.Buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(stream.Buffer);
        }

        stream.Buffer = ArrayPool<byte>.Shared.Rent(Math.Max(stream.Length, 4096));
    }

    private uint ReadUInt24(int offset) => (uint)((_header[offset] << 16) | (_header[offset + 1] << 8) | _header[offset + 2]);

    private async ValueTask FillAsync(int count, CancellationToken cancellationToken) =>
        await TryFillAsync(count, cancellationToken, allowEnd: false);

    private async ValueTask<bool> TryFillAsync(int count, CancellationToken cancellationToken, bool allowEnd)
    {
        var read = await _input.ReadAtLeastAsync(_header.AsMemory(0, count), count, throwOnEndOfStream: false, cancellationToken);
        BytesRead += read;
        if (read == count)
        {
            return true;
        }

        if (read == 0 && allowEnd)
        {
            return false;
        }

        throw new RtmpProtocolException("connection closed in the middle of a chunk");
    }

    public void Dispose()
    {
        foreach (var stream in _streams.Values.Where(s => s.Buffer.Length > 0))
        {
            ArrayPool<byte>.Shared.Return(stream.Buffer);
        }

        _streams.Clear();
    }

    private sealed class ChunkStream
    {
        public byte[] Buffer = [];
        public int Received;
        public int Length;
        public byte TypeId;
        public uint StreamId;
        public uint Timestamp;
        public uint Delta;
        public bool Extended;
        public bool InProgress;
    }
}
