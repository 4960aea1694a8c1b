using System.Runtime.InteropServices;

namespace SrsProxy.Udp;

/// <summary>
/// The Linux system calls of the batched relay engine: epoll, eventfd, and <c>recvmmsg</c>/<c>sendmmsg</c>,
/// which move many datagrams per system call. Layouts are the LP64 ones (x86-64 and arm64); only
/// <c>struct epoll_event</c> differs between them (packed to 12 bytes on x86-64).
/// </summary>
internal static unsafe partial class LinuxUdp
{
    public const int EpollIn = 0x001;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCloexec = 0x80000;
    public const int EfdCloexec = 0x80000;
    public const int EfdNonblock = 0x800;
    public const int MsgDontWait = 0x40;
    public const int MsgTrunc = 0x20;

    public const int Eintr = 4;
    public const int Eagain = 11;

    /// <summary>Room for any socket address (<c>sizeof(struct sockaddr_storage)</c>).</summary>
    public const int SocketAddressCapacity = 128;

    /// <summary>Bytes per <c>struct epoll_event</c>, and where its 64-bit data sits.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    public static readonly int EpollDataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    public static void WriteEpollEvent(byte* slot, uint events, ulong data)
    {
        *(uint*)slot = events;
        *(ulong*)(slot + EpollDataOffset) = data;
    }

    public static ulong ReadEpollData(byte* events, int index) => *(ulong*)(events + (index * EpollEventSize) + EpollDataOffset);

    /// <summary>Adds <paramref name="fd"/> to the epoll set for input, tagged with <paramref name="data"/>.</summary>
    public static int EpollAdd(int epoll, int fd, ulong data)
    {
        var ev = stackalloc byte[16];
        WriteEpollEvent(ev, EpollIn, data);
        return EpollCtl(epoll, EpollCtlAdd, fd, ev);
    }

    public static int EpollRemove(int epoll, int fd)
    {
        var ev = stackalloc byte[16];
        return EpollCtl(epoll, EpollCtlDel, fd, ev);
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int op, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMmsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMmsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public const int ClockMonotonic = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clock, int flags, TimeSpec* request, TimeSpec* remain);

    /// <summary>Sleeps this thread for a sub-millisecond time (<c>Thread.Sleep</c> counts whole milliseconds).</summary>
    public static void SleepNanoseconds(long nanoseconds)
    {
        var request = new TimeSpec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
        ClockNanosleep(ClockMonotonic, 0, &request, null);
    }
}
