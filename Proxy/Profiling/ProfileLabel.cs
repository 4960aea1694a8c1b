namespace SrsProxy.Profiling;

/// <summary>A pprof sample label: a string value, or a number with an optional unit.</summary>
internal readonly record struct ProfileLabel(string Key, string? Text, long Number = 0, string? Unit = null)
{
    public static ProfileLabel Of(string key, string text) => new(key, text);

    public static ProfileLabel Of(string key, long number, string? unit = null) => new(key, null, number, unit);
}
