using System.Text;

namespace SrsProxy.Fuzz;

internal static class Inputs
{
    /// <summary>Text inputs are read as the proxy reads request bodies: UTF-8, invalid bytes replaced.</summary>
    public static string Text(byte[] input) => Encoding.UTF8.GetString(input);

    /// <summary>The input cut at its first NUL byte: the first part, and the rest (empty when there is no NUL).</summary>
    public static (byte[] Head, byte[] Tail) SplitAtNul(byte[] input)
    {
        var nul = Array.IndexOf(input, (byte)0);
        return nul < 0 ? (input, []) : (input[..nul], input[(nul + 1)..]);
    }

    /// <summary>Counts the lines of a text the way <see cref="SdpLines.Split"/> cuts it.</summary>
    public static int CountLines(string text, Func<string, bool> predicate) =>
        SdpLines.Split(text).Count(l => predicate(l.Line));
}
