using System.Text;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// A <c>.env</c> file (<see cref="EnvironmentSource.MergeDotEnv"/>): the environment's own variables win, every
/// name read is non-empty and trimmed, at most one variable per line, and a variable with a proper name written
/// back as <c>NAME="VALUE"</c> reads back the same.
/// </summary>
internal sealed class DotEnvTarget : IFuzzTarget
{
    public string Name => "dotenv";

    public string Description => "EnvironmentSource.MergeDotEnv: environment wins, bounded, NAME=\"VALUE\" round trip";

    public void Run(byte[] input)
    {
        var text = Inputs.Text(input);
        var variables = new Dictionary<string, string>(StringComparer.Ordinal) { ["PROXY_HTTP_API"] = "1985" };
        EnvironmentSource.MergeDotEnv(variables, text);
        Check.Equal("1985", variables["PROXY_HTTP_API"], "the environment wins over .env");
        Check.That(variables.Count - 1 <= text.Count(c => c == '\n') + 1, "at most one variable per line");

        var written = new StringBuilder();
        foreach (var (name, value) in variables)
        {
            Check.That(name.Length > 0 && name == name.Trim() && !name.Contains('=') && !name.Contains('\n'), $"name '{name}' is trimmed, one line, no '='");
            Check.That(!value.Contains('\n') && (name == "PROXY_HTTP_API" || value.Length <= text.Length), "value is one line of the file");
            if (IsPortableName(name) && !value.Contains('"'))
            {
                written.Append(name).Append("=\"").Append(value).Append("\"\n");
            }
        }

        var reread = new Dictionary<string, string>(StringComparer.Ordinal);
        EnvironmentSource.MergeDotEnv(reread, written.ToString());
        foreach (var (name, value) in reread)
        {
            Check.Equal(variables[name], value, $"{name} written back as NAME=\"VALUE\" and read again");
        }
    }

    /// <summary>POSIX names for environment variables: letters, digits and underscores, not starting with a digit.</summary>
    private static bool IsPortableName(string name) =>
        !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
