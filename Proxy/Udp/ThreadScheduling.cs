using System.Runtime.InteropServices;
using SrsProxy.Configuration;

namespace SrsProxy.Udp;

/// <summary>Linux scheduling of the calling thread: what <see cref="PumpPriority"/> asks of a pump.</summary>
internal static unsafe partial class ThreadScheduling
{
    private const int PrioProcess = 0;
    private const int SchedFifo = 1;

    /// <summary>A thread or process the pump starts does not inherit its real-time class.</summary>
    private const int SchedResetOnFork = 0x40000000;

    /// <summary>The nice value of <see cref="PumpPriority.High"/>.</summary>
    internal const int HighNice = -10;

    /// <summary>The <c>SCHED_FIFO</c> priority of <see cref="PumpPriority.Realtime"/>: the lowest, above every normal thread.</summary>
    internal const int RealtimePriority = 1;

    /// <summary>Schedules the calling thread as <paramref name="priority"/> asks. Returns 0, or the errno that refused it.</summary>
    public static int ApplyToCurrentThread(PumpPriority priority)
    {
        var thread = GetTid();
        switch (priority)
        {
            case PumpPriority.High:
                // On Linux a nice value belongs to a thread, not to the whole process.
                return SetPriority(PrioProcess, (uint)thread, HighNice) == 0 ? 0 : Marshal.GetLastPInvokeError();
            case PumpPriority.Realtime:
                var parameter = RealtimePriority;
                return SchedSetScheduler(thread, SchedFifo | SchedResetOnFork, &parameter) == 0 ? 0 : Marshal.GetLastPInvokeError();
            default:
                return 0;
        }
    }

    /// <summary>The calling thread's id in the kernel (<c>gettid</c>), the name of its folder in <c>/proc/self/task</c>.</summary>
    public static int CurrentThreadId() => GetTid();

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, uint who, int priority);

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static partial int SchedSetScheduler(int pid, int policy, int* parameter);
}
