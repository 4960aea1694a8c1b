namespace SrsProxy.Profiling;

/// <summary>
/// Which sampled stacks are a thread waiting rather than running. EventPipe's sampler visits every managed
/// thread whether it runs or not; a CPU profile must not count the waits (a thread pool worker parked in
/// its semaphore, the socket engine in epoll_wait, a timer sleeping).
/// </summary>
internal static class WaitFrames
{
    /// <summary>Leaf methods (readable names) where a thread blocks in the kernel until something happens.</summary>
    private static readonly HashSet<string> Waits = new(StringComparer.Ordinal)
    {
        "System.Threading.WaitHandle.WaitOneNoCheck",
        "System.Threading.WaitHandle.WaitOneCore",
        "System.Threading.WaitHandle.WaitMultipleIgnoringSyncContext",
        "System.Threading.WaitHandle.WaitAnyMultiple",
        "System.Threading.WaitSubsystem.Wait",
        "System.Threading.LowLevelLifoSemaphore.WaitNative",
        "System.Threading.LowLevelLifoSemaphore.WaitForSignal",
        "System.Threading.LowLevelLifoSemaphore.Wait",
        "System.Threading.LowLevelMonitor.WaitCore",
        "System.Threading.LowLevelMonitor.Wait",
        "System.Threading.Monitor.Wait",
        "System.Threading.Monitor.ObjWait",
        "System.Threading.Thread.Sleep",
        "System.Threading.Thread.SleepInternal",
        "System.Threading.Thread.Join",
        "System.Threading.Thread.JoinInternal",
        "Interop+Sys.WaitForSocketEvents",
        "Interop+Sys.Poll",
        "Interop+Sys.LowLevelMonitor_Wait",
        "Interop+Sys.LowLevelMonitor_TimedWait",
    };

    /// <summary>
    /// Methods whose call into code the runtime could not name (a P/Invoke stub) is a wait: the socket
    /// engine's thread calls epoll_wait through such a stub straight from its loop.
    /// </summary>
    private static readonly HashSet<string> WaitingCallers = new(StringComparer.Ordinal)
    {
        "System.Net.Sockets.SocketAsyncEngine.EventLoop",
    };

    public static bool IsWait(string function) => Waits.Contains(function);

    /// <summary>Whether a sampled stack (leaf first, sampler frames trimmed) is a thread waiting.</summary>
    public static bool IsWaiting(IReadOnlyList<StackFrameInfo> stack)
    {
        if (stack.Count == 0)
        {
            return false;
        }

        if (IsWait(stack[0].Function))
        {
            return true;
        }

        var first = 0;
        while (first < stack.Count && stack[first].IsUnresolved)
        {
            first++;
        }

        return first > 0 && first < stack.Count && WaitingCallers.Contains(stack[first].Function);
    }

    /// <summary>
    /// Frames the sampler itself puts on top of a running thread: it stops threads at GC poll points, so the
    /// poll helper is the leaf though the caller is what ran.
    /// </summary>
    public static bool IsSamplerArtefact(string function) =>
        function.Contains("<PollGC>", StringComparison.Ordinal) || function.StartsWith("System.Threading.Thread.PollGC", StringComparison.Ordinal);

    /// <summary>The stack without the sampler's own frames on top.</summary>
    public static ArraySegment<StackFrameInfo> TrimArtefacts(IReadOnlyList<StackFrameInfo> stack)
    {
        var array = stack as StackFrameInfo[] ?? [.. stack];
        var start = 0;
        while (start < array.Length && IsSamplerArtefact(array[start].Function))
        {
            start++;
        }

        return new ArraySegment<StackFrameInfo>(array, start, array.Length - start);
    }
}
