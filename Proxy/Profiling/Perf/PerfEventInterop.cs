using System.Runtime.InteropServices;

namespace SrsProxy.Profiling.Perf;

/// <summary>
/// Linux's <c>perf_event_open(2)</c> as the CPU sampler uses it: one software task-clock counter per thread
/// that records the thread's call chain (kernel and user, walked by the kernel along frame pointers) every
/// <c>period</c> nanoseconds of that thread's CPU time, into a ring buffer shared with this process.
/// </summary>
internal static unsafe partial class PerfEventInterop
{
    private const int TypeSoftware = 1;
    private const ulong SoftwareCpuClock = 0;
    private const ulong SoftwareTaskClock = 1;

    /// <summary>PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN: a sample is pid, tid, then the chain.</summary>
    private const ulong SampleTidCallchain = (1UL << 1) | (1UL << 5);

    private const ulong FlagDisabled = 1UL << 0;
    private const ulong FlagExcludeKernel = 1UL << 5;
    private const ulong FlagExcludeHypervisor = 1UL << 6;

    /// <summary>
    /// No sample while a CPU idles: a per-CPU clock would otherwise record the idle task's chain every period,
    /// for the reader to drop.
    /// </summary>
    private const ulong FlagExcludeIdle = 1UL << 7;
    private const ulong FlagExcludeCallchainKernel = 1UL << 21;

    /// <summary>PERF_ATTR_SIZE_VER5 (Linux 4.1+): up to and including sample_max_stack.</summary>
    private const int AttributeSize = 112;

    private const ulong FlagFdCloexec = 8;

    private const ulong IocEnable = 0x2400;
    private const ulong IocDisable = 0x2401;

    public const int RecordLost = 2;
    public const int RecordSample = 9;

    /// <summary>The marker inside a call chain before the kernel's frames (PERF_CONTEXT_KERNEL); the user's follow PERF_CONTEXT_USER.</summary>
    public const ulong ContextKernel = unchecked((ulong)-128L);

    /// <summary>Anything at or above this in a chain is a marker, not a code address (PERF_CONTEXT_MAX).</summary>
    public const ulong ContextMarkers = unchecked((ulong)-4095L);

    /// <summary>Frames the kernel walks per chain at most; Linux's own default ceiling (kernel.perf_event_max_stack).</summary>
    public const ushort MaxStack = 127;

    /// <summary>Offsets in the ring's first page (struct perf_event_mmap_page).</summary>
    public const int DataHeadOffset = 1024;
    public const int DataTailOffset = 1032;

    private const int ProtRead = 1, ProtWrite = 2, MapShared = 1;

    /// <summary>
    /// Opens a disabled counter, on one thread (<paramref name="tid"/>, any CPU: a task clock, which follows
    /// the thread) or on one CPU (<paramref name="tid"/> -1: a CPU clock, which samples whatever runs there;
    /// needs CAP_PERFMON or perf_event_paranoid &lt;= 0). With <paramref name="kernel"/> the chain includes the
    /// kernel's frames (CAP_PERFMON or perf_event_paranoid &lt;= 1). Returns the descriptor, or -1 with the errno.
    /// </summary>
    public static int Open(int tid, int cpu, long periodNanoseconds, bool kernel, out int errno)
    {
        var attr = stackalloc byte[AttributeSize];
        new Span<byte>(attr, AttributeSize).Clear();
        *(uint*)(attr + 0) = TypeSoftware;
        *(uint*)(attr + 4) = AttributeSize;
        *(ulong*)(attr + 8) = tid == -1 ? SoftwareCpuClock : SoftwareTaskClock;
        *(ulong*)(attr + 16) = (ulong)periodNanoseconds;
        *(ulong*)(attr + 24) = SampleTidCallchain;
        *(ulong*)(attr + 40) = FlagDisabled | FlagExcludeHypervisor | FlagExcludeIdle | (kernel ? 0 : FlagExcludeKernel | FlagExcludeCallchainKernel);
        *(ushort*)(attr + 108) = MaxStack;

        var fd = (int)Syscall(SyscallNumber, attr, tid, cpu, -1, FlagFdCloexec);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd;
    }

    public static bool Enable(int fd) => Ioctl(fd, IocEnable, 0) == 0;

    public static bool Disable(int fd) => Ioctl(fd, IocDisable, 0) == 0;

    /// <summary>Maps the ring: one control page and <paramref name="dataPages"/> pages (a power of two) of records.</summary>
    public static byte* Map(int fd, int dataPages, out nuint length)
    {
        length = (nuint)((dataPages + 1) * Environment.SystemPageSize);
        var address = Mmap(null, length, ProtRead | ProtWrite, MapShared, fd, 0);
        return address == (void*)-1 ? null : (byte*)address;
    }

    public static void Unmap(byte* ring, nuint length) => Munmap(ring, length);

    public static void Close(int fd) => CloseFd(fd);

    /// <summary>perf_event_open has no libc wrapper; its number differs per architecture.</summary>
    private static long SyscallNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 298,
        Architecture.Arm64 => 241,
        _ => throw new PlatformNotSupportedException($"perf_event_open's number on {RuntimeInformation.ProcessArchitecture} is not known here"),
    };

    public static bool Supported =>
        OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, byte* attr, int pid, int cpu, int groupFd, ulong flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, ulong argument);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseFd(int fd);
}
