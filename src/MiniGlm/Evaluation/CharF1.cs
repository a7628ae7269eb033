namespace MiniGlm.Evaluation;

/// SQuAD's F1 with characters for words: the overlap of the two answers as multisets of units (see
/// <see cref="TextUnits"/>), order ignored. P = overlap/|candidate|, R = overlap/|reference|, F1 = 2PR/(P+R).
/// Beside Rouge-L it shows whether a model knows the right characters even when it gets their order wrong.
public static class CharF1
{
    public static double Score(string reference, string candidate) => Score(TextUnits.Of(reference), TextUnits.Of(candidate));

    public static double Score(IReadOnlyList<string> reference, IReadOnlyList<string> candidate)
    {
        var counts = reference.GroupBy(u => u).ToDictionary(g => g.Key, g => g.Count());
        int overlap = 0;
        foreach (var unit in candidate)
            if (counts.TryGetValue(unit, out var left) && left > 0) { overlap++; counts[unit] = left - 1; }
        if (overlap == 0) return 0;
        double p = (double)overlap / candidate.Count, r = (double)overlap / reference.Count;
        return 2 * p * r / (p + r);
    }
}
