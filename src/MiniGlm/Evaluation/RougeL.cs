namespace MiniGlm.Evaluation;

/// Rouge-L precision, recall and F between a reference and a candidate answer.
public sealed record RougeLScore(double Precision, double Recall, double F);

/// Rouge-L as the MiniGLM course defines it: with LCS the longest common subsequence of reference X (m units) and
/// candidate Y (n units), R = LCS/m, P = LCS/n and F = (1+β²)·R·P / (R + β²·P). Units are characters for Chinese
/// (see <see cref="TextUnits"/>). β = 1 (what the students used) weighs precision and recall equally.
public static class RougeL
{
    public static RougeLScore Score(string reference, string candidate, double beta = 1.0) =>
        Score(TextUnits.Of(reference), TextUnits.Of(candidate), beta);

    public static RougeLScore Score(IReadOnlyList<string> reference, IReadOnlyList<string> candidate, double beta = 1.0)
    {
        int lcs = Lcs(reference, candidate);
        if (lcs == 0) return new RougeLScore(0, 0, 0);
        double r = (double)lcs / reference.Count, p = (double)lcs / candidate.Count, b2 = beta * beta;
        return new RougeLScore(p, r, (1 + b2) * r * p / (r + b2 * p));
    }

    /// Length of the longest common subsequence, by dynamic programming over two rows.
    public static int Lcs(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var prev = new int[b.Count + 1];
        var cur = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
                cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : Math.Max(prev[j], cur[j - 1]);
            (prev, cur) = (cur, prev);
        }
        return prev[b.Count];
    }
}
