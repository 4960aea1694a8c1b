using System.Runtime.InteropServices;

namespace SrsProxy.Hosting;

/// <summary>
/// Raises the soft limit on open files to the hard limit at start, as Go's runtime does for the reference
/// proxy: every WebRTC session holds a socket, and a soft limit of 1,024 would cap the relay far below
/// <c>PROXY_RTC_MAX_SESSIONS</c>. Linux only; elsewhere, or when not allowed, the limit stays as it is.
/// </summary>
internal static partial class FileDescriptorLimit
{
    private const int RlimitNofile = 7;

    /// <summary>The soft limit after the attempt, or null when it cannot be read.</summary>
    public static ulong? Raise()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        if (GetRlimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            if (SetRlimit(RlimitNofile, in raised) == 0)
            {
                return raised.Current;
            }
        }

        return limit.Current;
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Rlimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, out Rlimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, in Rlimit limit);
}
