using System.Buffers.Binary;

namespace SrsProxy.Rtmp;

/// <summary>
/// Writes RTMP messages as chunks (type 0 header, then type 3 continuations) into a buffered stream. Calls
/// are serialised, because two relay directions and the protocol control replies share one connection.
/// </summary>
internal sealed class RtmpChunkWriter : IDisposable
{
    /// <summary>Chunk size the proxy announces to each peer: large chunks cost fewer headers.</summary>
    internal const int OutgoingChunkSize = 4096;

    private readonly Stream _output;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _header = new byte[18];
    private int _chunkSize = 128;

    public RtmpChunkWriter(Stream output) => _output = output;

    public async ValueTask WriteAsync(byte typeId, uint timestamp, uint streamId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await WriteUnlockedAsync(typeId, timestamp, streamId, payload, cancellationToken);
            await _output.FlushAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Announces a larger chunk size to the peer and switches to it.</summary>
    public async ValueTask SetChunkSizeAsync(int size, CancellationToken cancellationToken)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, size);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await WriteUnlockedAsync(RtmpMessage.SetChunkSize, 0, 0, payload, cancellationToken);
            await _output.FlushAsync(cancellationToken);
            _chunkSize = size;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask WriteUnlockedAsync(byte typeId, uint timestamp, uint streamId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (payload.Length > 0xFFFFFF)
        {
            throw new RtmpProtocolException("message too large for RTMP");
        }

        var csid = RtmpMessage.ChunkStreamFor(typeId);
        var extended = timestamp >= 0xFFFFFF;
        _header[0] = (byte)csid;
        WriteUInt24(1, extended ? 0xFFFFFF : timestamp);
        WriteUInt24(4, (uint)payload.Length);
        _header[7] = typeId;
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), streamId);
        var headerLength = 12;
        if (extended)
        {
            BinaryPrimitives.WriteUInt32BigEndian(_header.AsSpan(12), timestamp);
            headerLength = 16;
        }

        await _output.WriteAsync(_header.AsMemory(0, headerLength), cancellationToken);
        var offset = 0;
        while (true)
        {
            var length = Math.Min(_chunkSize, payload.Length - offset);
            await _output.WriteAsync(payload.Slice(offset, length), cancellationToken);
            offset += length;
            if (offset >= payload.Length)
            {
                break;
            }

            // Type 3 continuation: the basic header, and the extended timestamp again when the message has one.
            _header[0] = (byte)(0xC0 | csid);
            await _output.WriteAsync(_header.AsMemory(0, 1), cancellationToken);
            if (extended)
            {
                await _output.WriteAsync(_header.AsMemory(12, 4), cancellationToken);
            }
        }
    }

    private void WriteUInt24(int offset, uint value)
    {
        _header[offset] = (byte)(value >> 16);
        _header[offset + 1] = (byte)(value >> 8);
        _header[offset + 2] = (byte)value;
    }

    public void Dispose() => _gate.Dispose();
}
