using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace SrsProxy.Profiling;

/// <summary>
/// This process's own diagnostics port, spoken to directly (the runtime's IPC protocol, version 1): an EventPipe
/// session started and stopped on the Unix socket the runtime listens on, its stream handed to the caller.
/// <para>
/// The CPU profile's naming uses this instead of <c>Microsoft.Diagnostics.NETCore.Client</c>: the client finds
/// the socket by listing the temporary directory and sorting candidates by their file times (which loads the
/// local time zone), looks the process up with <c>System.Diagnostics.Process</c>, and a first profile paid for
/// compiling all of that in the very window it measures. The socket's name is known: the process id and its
/// start time in clock ticks (<c>/proc/self/stat</c>, field 22), as the runtime names it.
/// </para>
/// </summary>
internal static class DiagnosticsPort
{
    private const int HeaderSize = 20;
    private const byte EventPipeCommands = 0x02;
    private const byte StopTracingCommand = 0x01;
    private const byte CollectTracing3Command = 0x04;
    private const byte ServerCommands = 0xFF;
    private const byte ServerOk = 0x00;

    /// <summary>The stream's serialization: NetTrace (version 4 and 5 objects), not the old NetPerf.</summary>
    private const uint NetTraceFormat = 1;

    private static ReadOnlySpan<byte> Magic => "DOTNET_IPC_V1\0"u8;

    /// <summary>The socket's path, or null when the runtime does not listen (<c>DOTNET_EnableDiagnostics=0</c>).</summary>
    public static string? SocketPath()
    {
        var directory = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
        var pid = Environment.ProcessId;
        if (StartTicks() is { } key)
        {
            var path = Path.Combine(directory, $"dotnet-diagnostic-{pid}-{key}-socket");
            if (File.Exists(path))
            {
                return path;
            }
        }

        // Not where the name says (a runtime that names it otherwise): the newest socket of this process id.
        return Directory.Exists(directory)
            ? Directory.GetFiles(directory, $"dotnet-diagnostic-{pid}-*-socket").OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
    }

    /// <summary>
    /// Starts a streaming EventPipe session without stacks and returns its id and the connected socket, which
    /// carries the session's NetTrace stream until the session stops. Throws a
    /// <see cref="ProfileUnavailableException"/> when the port is missing or the runtime refuses.
    /// </summary>
    public static async Task<(ulong Id, Socket Stream)> StartAsync(uint bufferMegabytes, bool rundown,
        IReadOnlyList<(string Name, ulong Keywords, uint Level)> providers, CancellationToken cancellationToken)
    {
        var payload = new List<byte>(256);
        Append(payload, bufferMegabytes);
        Append(payload, NetTraceFormat);
        payload.Add(rundown ? (byte)1 : (byte)0);
        payload.Add(0); // no stack walk for each event
        Append(payload, (uint)providers.Count);
        foreach (var (name, keywords, level) in providers)
        {
            Append(payload, (uint)keywords);
            Append(payload, (uint)(keywords >> 32));
            Append(payload, level);
            AppendString(payload, name);
            Append(payload, 0u); // no arguments
        }

        var socket = await ConnectAsync(cancellationToken);
        try
        {
            var response = await ExchangeAsync(socket, CollectTracing3Command, payload, cancellationToken);
            return (BinaryPrimitives.ReadUInt64LittleEndian(response), socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Stops a session. The runtime answers once the session is over, after writing what remains of it (the
    /// rundown too) into its stream, so that stream must be read meanwhile.
    /// </summary>
    public static async Task StopAsync(ulong id, CancellationToken cancellationToken)
    {
        var payload = new List<byte>(8);
        Append(payload, (uint)id);
        Append(payload, (uint)(id >> 32));
        using var socket = await ConnectAsync(cancellationToken);
        await ExchangeAsync(socket, StopTracingCommand, payload, cancellationToken);
    }

    private static Task<Socket> ConnectAsync(CancellationToken cancellationToken) =>
        ConnectAsync(SocketPath() ?? throw new ProfileUnavailableException("the runtime's diagnostics port is not there (DOTNET_EnableDiagnostics=0?)"), cancellationToken);

    /// <summary>A connection to the diagnostics port at <paramref name="path"/>, refused unless this process listens there.</summary>
    internal static async Task<Socket> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ProfileUnavailableException($"the runtime's diagnostics port {path} refused a connection: {e.SocketErrorCode}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // A socket of this name may be another process's: one with the same process id in another PID namespace
        // that shares the temporary directory (a sidecar container). The kernel says who listens.
        var owner = ListenerProcess(socket);
        if (owner != Environment.ProcessId)
        {
            socket.Dispose();
            throw new ProfileUnavailableException(string.Create(CultureInfo.InvariantCulture,
                $"the diagnostics port {path} is another process's (process {owner} as seen from here), not this runtime's"));
        }

        return socket;
    }

    /// <summary>The process id of whoever listens on a connected Unix socket (<c>SO_PEERCRED</c>), as this PID namespace sees it (0: not visible; -1: not known).</summary>
    private static int ListenerProcess(Socket socket)
    {
        Span<byte> credentials = stackalloc byte[12]; // struct ucred: pid, uid, gid
        try
        {
            return socket.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, credentials) >= 4
                ? BinaryPrimitives.ReadInt32LittleEndian(credentials)
                : -1;
        }
        catch (SocketException)
        {
            return -1;
        }
    }

    /// <summary>Sends one command and reads the answer's payload; an error answer carries the runtime's HRESULT.</summary>
    private static async Task<byte[]> ExchangeAsync(Socket socket, byte command, List<byte> payload, CancellationToken cancellationToken)
    {
        try
        {
            return await ExchangeOnceAsync(socket, command, payload, cancellationToken);
        }
        catch (SocketException e)
        {
            // The runtime reset or closed the connection mid-command: no session, not a server error.
            throw new ProfileUnavailableException($"the runtime's diagnostics connection failed: {e.SocketErrorCode}");
        }
    }

    private static async Task<byte[]> ExchangeOnceAsync(Socket socket, byte command, List<byte> payload, CancellationToken cancellationToken)
    {
        var message = new byte[HeaderSize + payload.Count];
        Magic.CopyTo(message);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(14), (ushort)message.Length);
        message[16] = EventPipeCommands;
        message[17] = command;
        payload.CopyTo(message, HeaderSize);
        await socket.SendAsync(message, SocketFlags.None, cancellationToken);

        var header = new byte[HeaderSize];
        await ReceiveExactlyAsync(socket, header, cancellationToken);
        var size = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14));
        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic) || size < HeaderSize || header[16] != ServerCommands)
        {
            throw new ProfileUnavailableException("the runtime's diagnostics port answered something other than an IPC message");
        }

        var answer = new byte[size - HeaderSize];
        await ReceiveExactlyAsync(socket, answer, cancellationToken);
        if (header[17] != ServerOk)
        {
            var code = answer.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(answer) : 0;
            throw new ProfileUnavailableException(string.Create(CultureInfo.InvariantCulture, $"the runtime refused an EventPipe command (HRESULT 0x{code:X8})"));
        }

        if (answer.Length < 8)
        {
            throw new ProfileUnavailableException("the runtime answered an EventPipe command without a session id");
        }

        return answer;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new ProfileUnavailableException("the runtime closed its diagnostics connection before answering");
            }

            buffer = buffer[read..];
        }
    }

    private static void Append(List<byte> to, uint value)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(word, value);
        to.AddRange(word);
    }

    /// <summary>The protocol's string: its length in UTF-16 units with the terminating zero, then the units.</summary>
    private static void AppendString(List<byte> to, string value)
    {
        Append(to, (uint)value.Length + 1);
        to.AddRange(Encoding.Unicode.GetBytes(value + "\0"));
    }

    /// <summary>The process's start time in clock ticks after boot (<c>/proc/self/stat</c>, field 22), or null.</summary>
    private static string? StartTicks()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");

            // Field 2, the command, is in parentheses and may hold spaces: count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
