using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SrsProxy.WebRtc;

/// <summary>
/// Unpredictable bytes for WebRTC's session ids and STUN transaction ids, from the kernel's generator
/// (<c>getrandom(2)</c>, the source OpenSSL seeds itself from) on Linux. <see cref="RandomNumberGenerator"/> is
/// OpenSSL there, and loading it for a session id would map libcrypto into every proxy that relays WebRTC (see
/// <see cref="Relay.HmacSha1"/>). Elsewhere, or on a kernel without the call, it is <see cref="RandomNumberGenerator"/>.
/// </summary>
internal static unsafe partial class SecureRandom
{
    private const int Eintr = 4;
    private static bool s_unavailable = !OperatingSystem.IsLinux();

    public static void Fill(Span<byte> destination)
    {
        if (!Volatile.Read(ref s_unavailable) && FillFromKernel(destination))
        {
            return;
        }

        RandomNumberGenerator.Fill(destination);
    }

    /// <summary>Fills <paramref name="destination"/> with <c>getrandom(2)</c>; false (and never again) where the call is missing or refused.</summary>
    private static bool FillFromKernel(Span<byte> destination)
    {
        try
        {
            fixed (byte* start = destination)
            {
                var filled = 0;
                while (filled < destination.Length)
                {
                    var read = GetRandom(start + filled, (nuint)(destination.Length - filled), 0);
                    if (read > 0)
                    {
                        filled += (int)read;
                    }
                    else if (read == 0 || Marshal.GetLastPInvokeError() != Eintr)
                    {
                        // ENOSYS (a kernel before 3.17) or a seccomp profile that refuses the call.
                        Volatile.Write(ref s_unavailable, true);
                        return false;
                    }
                }

                return true;
            }
        }
        catch (EntryPointNotFoundException)
        {
            // A C library without the wrapper (glibc before 2.25).
            Volatile.Write(ref s_unavailable, true);
            return false;
        }
    }

    public static byte[] GetBytes(int count)
    {
        var bytes = new byte[count];
        Fill(bytes);
        return bytes;
    }

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static partial nint GetRandom(byte* buffer, nuint length, uint flags);
}
