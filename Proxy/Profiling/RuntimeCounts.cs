namespace SrsProxy.Profiling;

/// <summary>
/// What the runtime tells about pending asynchronous work without a debugger: thread pool threads and its
/// queue, active timers, lock contention. Awaiting async methods are not enumerable; they hold no thread.
/// </summary>
internal sealed record RuntimeCounts(int ThreadPoolThreads, long QueuedWorkItems, long CompletedWorkItems, long ActiveTimers, long LockContentions, int OsThreads)
{
    public static RuntimeCounts Now() => new(
        ThreadPool.ThreadCount,
        ThreadPool.PendingWorkItemCount,
        ThreadPool.CompletedWorkItemCount,
        Timer.ActiveCount,
        Monitor.LockContentionCount,
        CountOsThreads());

    private static int CountOsThreads()
    {
        try
        {
            return Directory.Exists("/proc/self/task") ? Directory.EnumerateDirectories("/proc/self/task").Count() : System.Diagnostics.Process.GetCurrentProcess().Threads.Count;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public override string ToString() =>
        $"threads: {OsThreads} OS threads, {ThreadPoolThreads} thread pool threads; pending: {QueuedWorkItems} queued thread pool work items, "
        + $"{ActiveTimers} active timers; {CompletedWorkItems} work items completed and {LockContentions} lock contentions since start";
}
