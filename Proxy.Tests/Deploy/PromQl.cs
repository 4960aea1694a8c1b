using System.Text.RegularExpressions;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// The metric names a PromQL expression selects, for checking a dashboard against what /metrics exports.
/// Not a PromQL parser: it removes what cannot be a metric name (strings, label matchers, ranges, grouping
/// labels, Grafana variables, function calls, keywords) and reports every identifier left.
/// </summary>
internal static partial class PromQl
{
    /// <summary>Aggregation operators, grouping and set keywords: identifiers that are not metrics.</summary>
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
        "limitk", "limit_ratio", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
        "unless", "offset", "inf", "nan", "atan2",
    };

    public static IReadOnlySet<string> MetricNames(string expression)
    {
        var text = StringLiteral().Replace(expression, " ");
        text = LabelMatchers().Replace(text, " ");
        text = Range().Replace(text, " ");
        text = Grouping().Replace(text, " ");
        text = Variable().Replace(text, " ");
        return Identifier().Matches(text).Select(m => m.Value).Where(name => !Keywords.Contains(name.ToLowerInvariant())).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Whether Prometheus would find the name in an exposition declaring these families: the family itself, or
    /// a histogram's or summary's <c>_bucket</c>, <c>_sum</c> or <c>_count</c> series.
    /// </summary>
    public static bool IsExported(string name, IReadOnlyDictionary<string, string> familyTypes)
    {
        if (familyTypes.ContainsKey(name))
        {
            return true;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) &&
                familyTypes.TryGetValue(name[..^suffix.Length], out var type) &&
                (type == "histogram" || (type == "summary" && suffix != "_bucket")))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex LabelMatchers();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Range();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\$\{[^}]*\}|\$\w+")]
    private static partial Regex Variable();

    /// <summary>An identifier not followed by "(" (a function call); atomic, so "rate(" never yields "rat".</summary>
    [GeneratedRegex(@"(?<![\w:.])(?>[a-zA-Z_:][a-zA-Z0-9_:]*)(?!\s*\()")]
    private static partial Regex Identifier();
}
