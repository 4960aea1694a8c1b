namespace SrsProxy.Tests.Deploy;

/// <summary>
/// One instruction of a Containerfile (Dockerfile syntax): its keyword, its arguments, and the build stage it
/// belongs to (0 for the first FROM). Continuation lines are joined and comments dropped, as builders do.
/// </summary>
internal sealed record ContainerfileInstruction(int Stage, string Keyword, string Arguments)
{
    public static List<ContainerfileInstruction> Parse(string text)
    {
        var instructions = new List<ContainerfileInstruction>();
        var stage = -1;
        var pending = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var whole = (pending + line).Trim();
            pending = "";
            if (whole.Length == 0)
            {
                continue;
            }

            var space = whole.IndexOf(' ');
            var keyword = (space < 0 ? whole : whole[..space]).ToUpperInvariant();
            if (keyword == "FROM")
            {
                stage++;
            }

            instructions.Add(new(stage, keyword, space < 0 ? "" : whole[(space + 1)..].Trim()));
        }

        return instructions;
    }
}
