using System.Runtime.InteropServices;

namespace SrsProxy.Udp;

/// <summary>
/// One Linux <c>io_uring</c> instance as <see cref="UringPump"/> uses it: the submission and completion rings
/// mapped into this process, and a provided-buffer ring from which the kernel takes a buffer for each datagram
/// it receives for us. The layouts are the kernel's (<c>include/uapi/linux/io_uring.h</c>), the same on x86-64
/// and arm64, and so are the three system call numbers.
/// The ring is made with <c>IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN</c>: only the thread that
/// made it submits, and the kernel does the receiving for completed readiness only when that thread asks for
/// completions. Datagrams that arrive while the pump sleeps cost the pump nothing until it looks, and then one
/// system call collects all of them.
/// </summary>
internal sealed unsafe partial class IoUring : IDisposable
{
    // Opcodes (enum io_uring_op).
    public const byte OpRead = 22;
    public const byte OpRecvMsg = 10;
    public const byte OpAsyncCancel = 14;

    // Submission flags (IOSQE_*).
    public const byte SqeBufferSelect = 1 << 5;

    // Receive flags, in the submission's ioprio field (IORING_RECV_*).
    public const ushort RecvMultishot = 1 << 1;

    // Completion flags (IORING_CQE_F_*).
    public const uint CqeBuffer = 1 << 0;
    public const uint CqeMore = 1 << 1;
    public const int CqeBufferShift = 16;

    private const uint SetupCqSize = 1 << 3;
    private const uint SetupSingleIssuer = 1 << 12;
    private const uint SetupDeferTaskRun = 1 << 13;

    private const uint EnterGetEvents = 1 << 0;
    private const uint EnterExtArg = 1 << 3;

    private const uint FeatSingleMmap = 1 << 0;
    private const uint FeatExtArg = 1 << 8;

    private const uint RegisterPbufRing = 22;

    private const long SysSetup = 425;
    private const long SysEnter = 426;
    private const long SysRegister = 427;

    private const long OffSqRing = 0;
    private const long OffSqes = 0x10000000;

    public const int Etime = 62;
    public const int Enobufs = 105;
    public const int Ecanceled = 125;
    public const int Ebusy = 16;

    /// <summary><c>struct io_uring_recvmsg_out</c>, at the start of each buffer a multishot <c>recvmsg</c> fills.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct RecvMsgOut
    {
        public uint NameLength;
        public uint ControlLength;
        public uint PayloadLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Sqe
    {
        public byte Opcode;
        public byte Flags;
        public ushort IoPrio;
        public int Fd;
        public ulong Offset;
        public ulong Address;
        public uint Length;
        public uint OpFlags;
        public ulong UserData;
        public ushort BufGroup;
        public ushort Personality;
        public int SpliceFdIn;
        public ulong Address3;
        public ulong Pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Cqe
    {
        public ulong UserData;
        public int Result;
        public uint Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Params
    {
        public uint SqEntries, CqEntries, Flags, SqThreadCpu, SqThreadIdle, Features, WqFd, Resv0, Resv1, Resv2;
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct BufReg
    {
        public ulong RingAddr;
        public uint RingEntries;
        public ushort Bgid;
        public ushort Flags;
        public ulong Resv0, Resv1, Resv2;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct GetEventsArg
    {
        public ulong SigMask;
        public uint SigMaskSize;
        public uint MinWaitMicroseconds;
        public ulong Timespec;
    }

    /// <summary><c>struct io_uring_buf</c>: one buffer offered to the kernel.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Buf
    {
        public ulong Address;
        public uint Length;
        public ushort Bid;
        public ushort Resv;
    }

    private readonly int _fd;
    private readonly byte* _ring;
    private readonly nuint _ringSize;
    private readonly Sqe* _sqes;
    private readonly nuint _sqesSize;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqArray;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;
    private uint _sqLocalTail;
    private uint _pending;

    private IoUring(int fd, in Params p)
    {
        _fd = fd;
        var sqSize = p.SqOff.Array + (p.SqEntries * sizeof(uint));
        var cqSize = p.CqOff.Cqes + (p.CqEntries * (uint)sizeof(Cqe));
        _ringSize = Math.Max(sqSize, cqSize);
        _ring = Map(_ringSize, fd, OffSqRing);
        _sqesSize = p.SqEntries * (nuint)sizeof(Sqe);
        try
        {
            _sqes = (Sqe*)Map(_sqesSize, fd, OffSqes);
        }
        catch
        {
            Munmap(_ring, _ringSize);
            throw;
        }

        _sqHead = (uint*)(_ring + p.SqOff.Head);
        _sqTail = (uint*)(_ring + p.SqOff.Tail);
        _sqArray = (uint*)(_ring + p.SqOff.Array);
        _sqMask = *(uint*)(_ring + p.SqOff.RingMask);
        _sqEntries = p.SqEntries;
        _cqHead = (uint*)(_ring + p.CqOff.Head);
        _cqTail = (uint*)(_ring + p.CqOff.Tail);
        _cqMask = *(uint*)(_ring + p.CqOff.RingMask);
        _cqes = (Cqe*)(_ring + p.CqOff.Cqes);
        _sqLocalTail = *_sqTail;
    }

    /// <summary>
    /// A ring of <paramref name="entries"/> submissions and <paramref name="completions"/> completions, owned by the
    /// calling thread. Throws <see cref="PlatformNotSupportedException"/> where the kernel has no io_uring, forbids
    /// it (<c>kernel.io_uring_disabled</c>, a seccomp filter) or lacks what the pump needs (Linux 6.1 or later).
    /// </summary>
    public static IoUring Create(uint entries, uint completions)
    {
        var p = new Params { Flags = SetupSingleIssuer | SetupDeferTaskRun | SetupCqSize, CqEntries = completions };
        var fd = (int)Syscall(SysSetup, entries, (long)&p, 0, 0, 0, 0);
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new PlatformNotSupportedException($"io_uring_setup: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }

        if ((p.Features & (FeatSingleMmap | FeatExtArg)) != (FeatSingleMmap | FeatExtArg))
        {
            LinuxUdp.Close(fd);
            throw new PlatformNotSupportedException("io_uring without single mmap and extended wait arguments (Linux 5.11 or later)");
        }

        try
        {
            return new IoUring(fd, p);
        }
        catch
        {
            LinuxUdp.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Whether this process may make the pump's kind of ring: tried once, on a throwaway thread, since a
    /// single-issuer ring belongs to the thread that made it.
    /// </summary>
    public static bool IsSupported(out string? reason)
    {
        (var supported, reason) = s_support.Value;
        return supported;
    }

    private static readonly Lazy<(bool Supported, string? Reason)> s_support = new(Probe);

    private static (bool, string?) Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (false, "not Linux");
        }

        (bool, string?) result = (false, null);
        var thread = new Thread(() =>
        {
            try
            {
                var ring = Create(8, 16);
                ProvidedBuffers? buffers = null;
                try
                {
                    buffers = new ProvidedBuffers(ring, group: 0, count: 2, size: 64);
                    result = (true, null);
                }
                finally
                {
                    ring.Dispose();
                    buffers?.Dispose();
                }
            }
            catch (Exception e) when (e is PlatformNotSupportedException or InvalidOperationException)
            {
                result = (false, e.Message);
            }
        }) { IsBackground = true, Name = "io_uring probe" };
        thread.Start();
        thread.Join();
        return result;
    }

    /// <summary>
    /// A free submission slot, zeroed; null when the ring is full (submit what is pending with
    /// <see cref="Submit"/> first).
    /// </summary>
    public Sqe* NextSqe()
    {
        if (_sqLocalTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
        {
            return null;
        }

        var index = _sqLocalTail & _sqMask;
        var sqe = _sqes + index;
        *sqe = default;
        _sqArray[index] = index;
        _sqLocalTail++;
        _pending++;
        return sqe;
    }

    /// <summary>Submissions written but not yet handed to the kernel.</summary>
    public uint Pending => _pending;

    /// <summary>Hands pending submissions to the kernel without waiting.</summary>
    public void Submit() => Enter(0, null);

    /// <summary>
    /// Hands pending submissions to the kernel and waits until at least <paramref name="minCompletions"/>
    /// completions are ready or <paramref name="timeoutNanoseconds"/> have passed (negative: no limit).
    /// </summary>
    public void SubmitAndWait(uint minCompletions, long timeoutNanoseconds)
    {
        if (timeoutNanoseconds < 0)
        {
            Enter(minCompletions, null);
            return;
        }

        var ts = new LinuxUdp.TimeSpec { Seconds = timeoutNanoseconds / 1_000_000_000, Nanoseconds = timeoutNanoseconds % 1_000_000_000 };
        var arg = new GetEventsArg { Timespec = (ulong)&ts };
        Enter(minCompletions, &arg);
    }

    private void Enter(uint minCompletions, GetEventsArg* arg)
    {
        Volatile.Write(ref *_sqTail, _sqLocalTail);
        var toSubmit = _pending;
        var flags = EnterGetEvents | (arg is null ? 0 : EnterExtArg);
        while (true)
        {
            var result = Syscall(SysEnter, _fd, toSubmit, minCompletions, flags, (long)arg, arg is null ? 0 : sizeof(GetEventsArg));
            if (result >= 0)
            {
                _pending -= Math.Min(_pending, (uint)result);
                return;
            }

            var error = Marshal.GetLastPInvokeError();
            if (error is Etime or LinuxUdp.Eintr or Ebusy)
            {
                // The wait ended (its time, a signal, a full completion queue); what was submitted counts from the head.
                _pending = _sqLocalTail - Volatile.Read(ref *_sqHead);
                return;
            }

            throw new System.Net.Sockets.SocketException(error);
        }
    }

    /// <summary>The completions ready now, oldest first; call <see cref="Advance"/> with how many were used.</summary>
    public ReadOnlySpan<Cqe> Completions(out uint head)
    {
        head = *_cqHead;
        var tail = Volatile.Read(ref *_cqTail);
        var count = tail - head;
        var start = head & _cqMask;
        var contiguous = Math.Min(count, _cqMask + 1 - start);
        return new ReadOnlySpan<Cqe>(_cqes + start, (int)contiguous);
    }

    /// <summary>Gives <paramref name="count"/> completions back to the kernel.</summary>
    public void Advance(uint head, int count) => Volatile.Write(ref *_cqHead, head + (uint)count);

    internal void RegisterBufferRing(void* ring, uint entries, ushort group)
    {
        var reg = new BufReg { RingAddr = (ulong)ring, RingEntries = entries, Bgid = group };
        if (Syscall(SysRegister, _fd, RegisterPbufRing, (long)&reg, 1, 0, 0) < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new PlatformNotSupportedException($"io_uring provided buffer ring: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }
    }

    public void Dispose()
    {
        Munmap(_sqes, _sqesSize);
        Munmap(_ring, _ringSize);
        LinuxUdp.Close(_fd);
    }

    private static byte* Map(nuint size, int fd, long offset)
    {
        var address = Mmap(null, size, 3 /* PROT_READ | PROT_WRITE */, 0x01 | 0x8000 /* MAP_SHARED | MAP_POPULATE */, fd, offset);
        if (address == (void*)-1)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new PlatformNotSupportedException($"io_uring mmap: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }

        return (byte*)address;
    }

    /// <summary>
    /// A provided-buffer ring: <c>count</c> buffers of <c>size</c> bytes, which the kernel takes one per received
    /// datagram (the completion names it) and the pump gives back when done with the datagram.
    /// </summary>
    internal sealed class ProvidedBuffers : IDisposable
    {
        private readonly Buf* _ring;
        private readonly byte* _memory;
        private readonly ushort _mask;
        private ushort _tail;

        public ProvidedBuffers(IoUring uring, ushort group, ushort count, int size)
        {
            if (count == 0 || (count & (count - 1)) != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(count), "a power of two");
            }

            Group = group;
            Size = size;
            _mask = (ushort)(count - 1);
            _ring = (Buf*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(Buf)), 4096);
            NativeMemory.Clear(_ring, (nuint)(count * sizeof(Buf)));
            _memory = (byte*)NativeMemory.Alloc((nuint)count * (nuint)size);
            try
            {
                uring.RegisterBufferRing(_ring, count, group);
            }
            catch
            {
                NativeMemory.AlignedFree(_ring);
                NativeMemory.Free(_memory);
                throw;
            }

            for (var bid = 0; bid < count; bid++)
            {
                Recycle((ushort)bid);
            }

            Publish();
        }

        public ushort Group { get; }

        public int Size { get; }

        public byte* this[int bid] => _memory + ((nint)bid * Size);

        /// <summary>Offers buffer <paramref name="bid"/> again; the kernel sees it at the next <see cref="Publish"/>.</summary>
        public void Recycle(ushort bid)
        {
            var slot = _ring + (_tail & _mask);
            slot->Address = (ulong)this[bid];
            slot->Length = (uint)Size;
            slot->Bid = bid;
            _tail++;
        }

        /// <summary>Makes recycled buffers visible to the kernel (the ring's tail sits in its first entry).</summary>
        public void Publish() => Volatile.Write(ref _ring->Resv, _tail);

        public void Dispose()
        {
            // The ring is unregistered when the io_uring closes; free only after that.
            NativeMemory.AlignedFree(_ring);
            NativeMemory.Free(_memory);
        }
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);
}
