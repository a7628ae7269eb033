using System.Text;

namespace MiniGlm.Evaluation;

/// How much of an answer repeats itself: the share of its character n-grams that are repeats of an earlier one,
/// 1 − distinct/total, over the answer's characters without whitespace (punctuation kept: "。。。。" is degenerate
/// too). A loop like "2021等2021等2021等" scores high; a poem, whose 4-grams are almost all distinct, near 0.
/// An answer is counted as repetitive at or above the threshold: with n = 4, 0.3 is about a phrase said twice over.
public static class RepetitionMeasure
{
    public const int DefaultN = 4;
    public const double DefaultThreshold = 0.3;

    public static double Ratio(string text, int n = DefaultN)
    {
        var runes = text.EnumerateRunes().Where(r => !Rune.IsWhiteSpace(r)).Select(r => r.Value).ToArray();
        int total = runes.Length - n + 1;
        if (total <= 1) return 0;
        var distinct = new HashSet<string>();
        for (int i = 0; i < total; i++) distinct.Add(string.Join(',', runes.AsSpan(i, n).ToArray()));
        return 1 - (double)distinct.Count / total;
    }
}
