using System.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;

namespace SrsProxy.Profiling;

/// <summary>
/// Runs EventPipe sessions on this very process through its diagnostics port, each drained by a
/// <see cref="TraceDrain"/> into a temporary file. A session exists only while a profile is being taken:
/// none is opened at start, and every one is stopped in all cases (done, cancelled, failed).
/// </summary>
internal sealed partial class EventPipeRecorder
{
    /// <summary>How long the runtime may take to stop a session and write its rundown.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly string _directory;
    private readonly ILogger<EventPipeRecorder> _logger;

    public EventPipeRecorder(ProfilingOptions options, ILogger<EventPipeRecorder> logger)
    {
        _directory = options.TempDirectory;
        _logger = logger;
    }

    /// <summary>
    /// Opens a session, lets <paramref name="window"/> decide how long it records (it ends early when the
    /// recording reaches its cap), stops it and returns the trace. Cancelling stops the session and deletes
    /// what was recorded.
    /// </summary>
    public async Task<RecordedTrace> RecordAsync(EventPipeRequest request, Func<CancellationToken, Task> window, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, $"{request.Name}-{Environment.ProcessId}-{Guid.NewGuid():N}.nettrace");

        // Opened before the session so that the drain never has to create anything while the session runs.
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
        EventPipeSession session;
        try
        {
            var configuration = new EventPipeSessionConfiguration(request.Providers, request.BufferMegabytes, request.Rundown, request.Stacks);
            session = await new DiagnosticsClient(Environment.ProcessId).StartEventPipeSessionAsync(configuration, cancellationToken);
        }
        catch (ServerNotAvailableException e)
        {
            file.Dispose();
            RecordedTrace.TryDelete(path);
            throw new ProfileUnavailableException($"the runtime's diagnostics port is not available (DOTNET_EnableDiagnostics=0?): {e.Message}");
        }
        catch
        {
            file.Dispose();
            RecordedTrace.TryDelete(path);
            throw;
        }

        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var drain = new TraceDrain(session.EventStream, file, request.MaxBytes, request.MaxBytes * 2);
        drain.Start();
        LogSessionStarted(request.Name);
        TimeSpan windowLength;
        Exception? failure = null;
        try
        {
            using var stopEarly = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var recording = window(stopEarly.Token);
            if (await Task.WhenAny(recording, drain.SoftCapReached, drain.Completion) != recording)
            {
                LogStoppedAtCap(request.Name, request.MaxBytes);
                await stopEarly.CancelAsync();
            }

            await recording.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
            if (recording.IsFaulted)
            {
                await recording;
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            windowLength = clock.Elapsed;
            await StopAsync(session, drain, request.Name);
        }

        if (failure is null && drain.Truncated)
        {
            failure = new ProfileTooLargeException($"the {request.Name} recording passed {request.MaxBytes * 2 / (1024 * 1024)} MiB; ask for fewer seconds");
        }

        if (failure is null && drain.Completion.IsFaulted)
        {
            failure = drain.Completion.Exception!.GetBaseException();
        }

        if (failure is not null)
        {
            RecordedTrace.TryDelete(path);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        LogSessionStopped(request.Name, drain.Written, clock.ElapsedMilliseconds);
        return new RecordedTrace(path, drain.Written, started, windowLength);
    }

    /// <summary>Stops the session and waits for the drain to read the rest, rundown included, to the end.</summary>
    private async Task StopAsync(EventPipeSession session, TraceDrain drain, string name)
    {
        try
        {
            using var timeout = new CancellationTokenSource(StopTimeout);
            await session.StopAsync(timeout.Token);
            await drain.Completion.WaitAsync(StopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or IOException or ServerNotAvailableException)
        {
            LogStopFailed(name, e);
        }
        finally
        {
            // Closes the stream if the runtime did not: the drain ends either way.
            session.Dispose();
        }

        await drain.Completion.WaitAsync(StopTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
