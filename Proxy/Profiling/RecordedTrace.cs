namespace SrsProxy.Profiling;

/// <summary>A finished EventPipe recording in a temporary <c>.nettrace</c> file, deleted on dispose.</summary>
internal sealed class RecordedTrace : IDisposable
{
    public RecordedTrace(string path, long bytes, DateTimeOffset started, TimeSpan window)
    {
        Path = path;
        Bytes = bytes;
        Started = started;
        Window = window;
    }

    public string Path { get; }

    public long Bytes { get; }

    public DateTimeOffset Started { get; }

    /// <summary>From the session's start to the request to stop it.</summary>
    public TimeSpan Window { get; }

    /// <summary>Where TraceEvent may write its <c>.etlx</c> index of this trace; deleted with it.</summary>
    public string EtlxPath => System.IO.Path.ChangeExtension(Path, ".etlx");

    public void Dispose()
    {
        TryDelete(Path);
        TryDelete(EtlxPath);
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
