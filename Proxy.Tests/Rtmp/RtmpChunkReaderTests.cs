using SrsProxy.Rtmp;

namespace SrsProxy.Tests.Rtmp;

public class RtmpChunkReaderTests
{
    private static async Task<List<(byte Type, uint Timestamp, uint Stream, byte[] Payload)>> ReadAllAsync(byte[] wire, int chunkSize = 128)
    {
        using var reader = new RtmpChunkReader(new MemoryStream(wire)) { MaxMessageSize = 1 << 20, MaxBufferedBytes = 4 << 20 };
        reader.SetChunkSize(chunkSize);
        var messages = new List<(byte, uint, uint, byte[])>();
        while (await reader.ReadAsync(default) is { } message)
        {
            messages.Add((message.TypeId, message.Timestamp, message.StreamId, message.Payload.ToArray()));
        }

        return messages;
    }

    [Fact]
    public async Task Writer_ThenReader_RoundTripsMessagesLargerThanAChunk()
    {
        var wire = new MemoryStream();
        using var writer = new RtmpChunkWriter(wire);
        var video = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        await writer.WriteAsync(RtmpMessage.Video, 40, 1, video, default);
        await writer.WriteAsync(RtmpMessage.Audio, 0x1000000, 1, new byte[] { 1, 2, 3 }, default);
        await writer.SetChunkSizeAsync(4096, default);
        await writer.WriteAsync(RtmpMessage.Video, 80, 1, video, default);

        // The reader takes the writer's Set Chunk Size as the proxy does: by handling it between messages.
        using var reader = new RtmpChunkReader(new MemoryStream(wire.ToArray())) { MaxMessageSize = 1 << 20, MaxBufferedBytes = 4 << 20 };
        var first = await reader.ReadAsync(default);
        Assert.Equal((RtmpMessage.Video, 40u, 1u), (first!.Value.TypeId, first.Value.Timestamp, first.Value.StreamId));
        Assert.Equal(video, first.Value.Payload.ToArray());
        var second = await reader.ReadAsync(default);
        Assert.Equal(0x1000000u, second!.Value.Timestamp);
        var chunkSize = await reader.ReadAsync(default);
        Assert.Equal(RtmpMessage.SetChunkSize, chunkSize!.Value.TypeId);
        reader.SetChunkSize(4096);
        var third = await reader.ReadAsync(default);
        Assert.Equal(video, third!.Value.Payload.ToArray());
        Assert.Null(await reader.ReadAsync(default));
    }

    [Fact]
    public async Task Reader_CompressedHeaders_ApplyDeltas()
    {
        // csid 4: type 0 (ts 100, len 2, audio, stream 1), type 1 (delta 20, len 1), type 2 (delta 5), type 3 (delta 5 again).
        byte[] wire =
        [
            0x04, 0, 0, 100, 0, 0, 2, 8, 1, 0, 0, 0, 0xAA, 0xBB,
            0x44, 0, 0, 20, 0, 0, 1, 8, 0xCC,
            0x84, 0, 0, 5, 0xDD,
            0xC4, 0xEE,
        ];
        var messages = await ReadAllAsync(wire);
        Assert.Equal([100u, 120u, 125u, 130u], messages.Select(m => m.Timestamp));
        Assert.All(messages, m => Assert.Equal(1u, m.Stream));
        Assert.Equal(new byte[] { 0xEE }, messages[3].Payload);
    }

    [Fact]
    public async Task Reader_FirstChunkNotType0_IsRejected()
    {
        await Assert.ThrowsAsync<RtmpProtocolException>(() => ReadAllAsync([0x44, 0, 0, 20, 0, 0, 1, 8, 0xCC]));
    }

    [Fact]
    public async Task Reader_MessageOverLimit_IsRejected()
    {
        using var reader = new RtmpChunkReader(new MemoryStream([0x03, 0, 0, 0, 0x10, 0, 0, 20, 0, 0, 0, 0])) { MaxMessageSize = 64 * 1024 };
        var e = await Assert.ThrowsAsync<RtmpProtocolException>(() => reader.ReadAsync(default).AsTask());
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public async Task Reader_TooManyChunkStreams_IsRejected()
    {
        var wire = new List<byte>();
        for (var csid = 3; csid < 3 + RtmpChunkReader.MaxChunkStreams + 1; csid++)
        {
            wire.AddRange([0, (byte)(csid - 64 < 0 ? 0 : csid - 64)]);
            wire[^2] = csid < 64 ? (byte)csid : (byte)0;
            if (csid < 64)
            {
                wire.RemoveAt(wire.Count - 1);
            }

            wire.AddRange([0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x11]);
        }

        await Assert.ThrowsAsync<RtmpProtocolException>(() => ReadAllAsync(wire.ToArray()));
    }

    [Fact]
    public async Task Reader_ClosedMidChunk_IsRejected_CleanEndIsNull()
    {
        await Assert.ThrowsAsync<RtmpProtocolException>(() => ReadAllAsync([0x03, 0, 0, 0, 0, 0, 10, 20, 0, 0, 0, 0, 1, 2]));
        Assert.Empty(await ReadAllAsync([]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(RtmpChunkReader.MaxChunkSize + 1)]
    public void SetChunkSize_OutOfRange_IsRejected(int size)
    {
        using var reader = new RtmpChunkReader(new MemoryStream());
        Assert.Throws<RtmpProtocolException>(() => reader.SetChunkSize(size));
    }

    [Fact]
    public async Task Reader_RandomBytes_OnlyProtocolErrors()
    {
        var random = new Random(11);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(1, 300)];
            random.NextBytes(bytes);
            try
            {
                await ReadAllAsync(bytes);
            }
            catch (RtmpProtocolException)
            {
            }
        }
    }
}
