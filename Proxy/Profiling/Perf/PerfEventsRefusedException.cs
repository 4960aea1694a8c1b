namespace SrsProxy.Profiling.Perf;

/// <summary>The kernel refused this process perf events; <see cref="Errno"/> says how (EACCES, EPERM, ENOSYS, ...).</summary>
internal sealed class PerfEventsRefusedException(int errno, string message) : ProfileUnavailableException(message)
{
    public int Errno { get; } = errno;
}
