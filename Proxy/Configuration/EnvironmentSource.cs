using System.Collections;

namespace SrsProxy.Configuration;

/// <summary>
/// The variables the proxy reads: the process environment, then a <c>.env</c> file in the working directory
/// for names the environment does not set (lines <c>KEY=VALUE</c>, <c>#</c> comments), as the reference does.
/// </summary>
internal static class EnvironmentSource
{
    public static Dictionary<string, string> Load(string? dotEnvPath = ".env")
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        if (dotEnvPath is not null && File.Exists(dotEnvPath))
        {
            MergeDotEnv(variables, File.ReadAllText(dotEnvPath));
        }

        return variables;
    }

    /// <summary>Adds the <c>.env</c> lines whose names are not already set: the environment wins.</summary>
    public static void MergeDotEnv(Dictionary<string, string> variables, string dotEnvText)
    {
        foreach (var rawLine in dotEnvText.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }
            else
            {
                // An unquoted value ends at an inline comment: PROXY_HTTP_API=1985 # signalling
                var comment = value.IndexOf(" #", StringComparison.Ordinal);
                if (comment >= 0)
                {
                    value = value[..comment].TrimEnd();
                }
            }

            variables.TryAdd(key, value);
        }
    }
}
