using Microsoft.Extensions.Logging;

namespace SrsProxy.Tests.Common;

/// <summary>One log line as the code under test wrote it: its level, event id, text and named fields.</summary>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Fields)
{
    public string? Field(string name) =>
        Fields.TryGetValue(name, out var value) ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;
}

/// <summary>
/// A logger that keeps what it is given, from any thread, so a test can read what the code reported (a
/// session closed and why). Enabled from Information: debug lines on hot paths stay behind their
/// <c>IsEnabled</c> check, as in production.
/// </summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly List<LogEntry> _entries = [];

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var fields = state is IReadOnlyList<KeyValuePair<string, object?>> pairs
            ? pairs.ToDictionary(p => p.Key, p => p.Value)
            : [];
        var entry = new LogEntry(logLevel, eventId, formatter(state, exception), fields);
        lock (_entries)
        {
            _entries.Add(entry);
        }
    }
}
