using System.Diagnostics;
using System.Globalization;

namespace SrsProxy.Tests.Common;

/// <summary>POSIX signals to child processes: .NET can kill a process, but not send it SIGTERM.</summary>
internal static class Signals
{
    public static async Task TerminateAsync(int pid)
    {
        using var kill = Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }
}
