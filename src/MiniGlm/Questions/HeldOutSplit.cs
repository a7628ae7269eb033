namespace MiniGlm.Questions;

/// The guarantee behind the held-out sets: none of their questions is a training question, compared ignoring
/// spaces and punctuation (so "…是谁写的？" and "…是谁写的" count as the same question).
public static class HeldOutSplit
{
    /// Throws when a held-out question is also asked in training, naming the first one found.
    public static void EnsureDisjoint(IEnumerable<QaPair> train, IEnumerable<QaPair> heldOut)
    {
        var trained = train.Select(q => QaPair.Comparable(q.Question)).ToHashSet();
        var leak = heldOut.FirstOrDefault(q => trained.Contains(QaPair.Comparable(q.Question)));
        if (leak is not null) throw new MiniGlmException($"held-out question also in the training set: {leak.Question}");
    }
}
