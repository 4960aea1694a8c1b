namespace SrsProxy.Profiling;

/// <summary>
/// Copies an EventPipe session's stream, byte for byte, into a file on a dedicated thread until the runtime
/// closes it.
/// </summary>
/// <remarks>
/// This is the part that keeps self-tracing from deadlocking. While the runtime stops a session it holds
/// EventPipe's configuration lock and writes the rest of the session, rundown included, into the stream;
/// if the stream's reader then needs that lock (creating an EventSource does, and TraceEvent's parsers can)
/// or stops reading, neither side moves (dotnet/runtime#1892 and #36108, listed as open in #45518;
/// dotnet/diagnostics#5628). So the reader here only moves bytes: one buffer allocated up front, a file
/// opened before the session started, no parsing, no logging, no thread pool; and it reads to the end even
/// past its cap, discarding, so that a stop always completes. Parsing starts after the session is over.
/// </remarks>
internal sealed class TraceDrain
{
    /// <summary>Read size; EventPipe writes blocks of up to ~100 KB.</summary>
    private const int BufferSize = 64 * 1024;

    private readonly Stream _source;
    private readonly FileStream _file;
    private readonly long _softCap;
    private readonly long _hardCap;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _softCapReached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _buffer = new byte[BufferSize];
    private long _written;

    /// <param name="source">The session's stream.</param>
    /// <param name="file">The open file that receives it; closed when the stream ends.</param>
    /// <param name="softCap">Past this many bytes the recording should stop early (<see cref="SoftCapReached"/>).</param>
    /// <param name="hardCap">Past this many bytes nothing more is written; the stream is still read to its end.</param>
    public TraceDrain(Stream source, FileStream file, long softCap, long hardCap)
    {
        _source = source;
        _file = file;
        _softCap = softCap;
        _hardCap = hardCap;
    }

    /// <summary>Completes when the stream ended and the file is closed.</summary>
    public Task Completion => _completion.Task;

    public Task SoftCapReached => _softCapReached.Task;

    public long Written => Interlocked.Read(ref _written);

    /// <summary>True when bytes were discarded at the hard cap: the file is not a whole trace.</summary>
    public bool Truncated { get; private set; }

    public void Start()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "pprof eventpipe drain" };
        thread.Start();
    }

    private void Run()
    {
        try
        {
            int read;
            while ((read = _source.Read(_buffer, 0, _buffer.Length)) > 0)
            {
                var written = Interlocked.Read(ref _written);
                if (written + read > _hardCap)
                {
                    Truncated = true;
                    continue;
                }

                _file.Write(_buffer, 0, read);
                Interlocked.Add(ref _written, read);
                if (written + read > _softCap)
                {
                    _softCapReached.TrySetResult();
                }
            }

            _file.Dispose();
            _completion.TrySetResult();
        }
        catch (Exception e)
        {
            // The session was disposed under us (a stop that timed out), or the disk is full.
            _file.Dispose();
            _completion.TrySetException(e);
        }
    }
}
