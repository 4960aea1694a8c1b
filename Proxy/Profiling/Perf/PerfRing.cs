using System.Runtime.CompilerServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// One thread's counter and the ring buffer the kernel writes its samples into. The kernel advances the head
/// as it writes; the reader consumes records up to it and then publishes the tail, which frees the space.
/// A record never straddles the header, but its body may wrap around the end of the ring.
/// </summary>
internal sealed unsafe class PerfRing : IDisposable
{
    private readonly int _fd;
    private readonly byte* _ring;
    private readonly nuint _length;
    private readonly byte* _data;
    private readonly ulong _mask;
    private byte[]? _wrapped;
    private bool _disposed;

    private PerfRing(int fd, byte* ring, nuint length, int dataBytes)
    {
        _fd = fd;
        _ring = ring;
        _length = length;
        _data = ring + Environment.SystemPageSize;
        _mask = (ulong)dataBytes - 1;
    }

    /// <summary>
    /// Opens, maps and enables a counter on one thread (<paramref name="cpu"/> -1) or one CPU
    /// (<paramref name="tid"/> -1); null with the errno when the kernel refuses.
    /// </summary>
    public static PerfRing? Open(int tid, int cpu, long periodNanoseconds, bool kernel, int dataPages, out int errno)
    {
        var fd = PerfEventInterop.Open(tid, cpu, periodNanoseconds, kernel, out errno);
        if (fd < 0)
        {
            return null;
        }

        var ring = PerfEventInterop.Map(fd, dataPages, out var length);
        if (ring is null)
        {
            errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            PerfEventInterop.Close(fd);
            return null;
        }

        var opened = new PerfRing(fd, ring, length, dataPages * Environment.SystemPageSize);
        PerfEventInterop.Enable(fd);
        return opened;
    }

    public void Disable() => PerfEventInterop.Disable(_fd);

    /// <summary>Hands every record written since the last call to <paramref name="sink"/> and frees their space.</summary>
    /// <remarks>Compiled optimised at once: tiering would recompile it during the very profile it serves.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Drain(IPerfRecordSink sink)
    {
        var head = Volatile.Read(ref *(ulong*)(_ring + PerfEventInterop.DataHeadOffset));
        var tail = *(ulong*)(_ring + PerfEventInterop.DataTailOffset);
        while (tail + 8 <= head)
        {
            var offset = tail & _mask;
            var header = _data + offset;
            var type = *(uint*)header;
            var size = *(ushort*)(header + 6);
            if (size < 8 || tail + size > head)
            {
                break;
            }

            ReadOnlySpan<byte> record;
            if (offset + size <= _mask + 1)
            {
                record = new ReadOnlySpan<byte>(header, size);
            }
            else
            {
                // A record that wraps around the ring's end is copied whole (at most 64 KiB, its size field's range).
                _wrapped ??= new byte[ushort.MaxValue + 1];
                var first = (int)(_mask + 1 - offset);
                new ReadOnlySpan<byte>(header, first).CopyTo(_wrapped);
                new ReadOnlySpan<byte>(_data, size - first).CopyTo(_wrapped.AsSpan(first));
                record = _wrapped.AsSpan(0, size);
            }

            sink.Record((int)type, record[8..]);
            tail += size;
        }

        Volatile.Write(ref *(ulong*)(_ring + PerfEventInterop.DataTailOffset), tail);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        PerfEventInterop.Unmap(_ring, _length);
        PerfEventInterop.Close(_fd);
    }
}

/// <summary>Receives the records of a <see cref="PerfRing"/>: the record's type and its body after the header.</summary>
internal interface IPerfRecordSink
{
    void Record(int type, ReadOnlySpan<byte> body);
}
