namespace MiniGlm.Questions;

/// A fact asked as a follow-up: the question in full (asked when nothing names the subject yet), the kind of
/// reference a short form makes to the turn before (poem, poet, line, ordinal; a chapter or a speaker for prose), and
/// the short forms people use once the previous answer named the subject (「背一下」, 「他还写过什么」, 「下一句呢？」).
/// The answer is the full question's: it names what it is about, so the next follow-up finds its subject in it.
public sealed record FollowUpFact(QaPair Full, string Reference, IReadOnlyList<string> Short);

/// Turns a chain of facts about one subject into a conversation the way people talk: the first fact asked in full,
/// each later one in one of its short forms. The last <see cref="HeldOut"/> short form of each list is never
/// trained: held-out follow-up conversations end in one of those. A short turn is typed follow_REFERENCE (with the
/// full question's key), so eval reports follow-ups by the kind of reference.
public static class FollowUps
{
    public const int HeldOut = 1;

    public static string TypeOf(string reference) => $"follow_{reference}";

    /// The short turn for a fact: one of its training short forms, or (heldOut) one of its held-out ones.
    public static QaPair Ask(FollowUpFact fact, Random rng, bool heldOut = false)
    {
        int training = Math.Max(1, fact.Short.Count - HeldOut);
        var phrasing = heldOut && fact.Short.Count > training
            ? fact.Short[training + rng.Next(fact.Short.Count - training)]
            : fact.Short[rng.Next(training)];
        return new QaPair(phrasing, fact.Full.Answer, TypeOf(fact.Reference), fact.Full.Key);
    }

    /// The first fact in full, then each next fact short, for as long as the turns fit; the last turn asked in a
    /// held-out short form when <paramref name="heldOutLast"/>. Fewer than two turns: null.
    public static Conversation? Chain(IReadOnlyList<FollowUpFact> facts, Random rng, Func<IReadOnlyList<QaPair>, bool> fits, bool heldOutLast = false)
    {
        if (facts.Count < 2) return null;
        var turns = new List<QaPair> { facts[0].Full };
        for (int i = 1; i < facts.Count; i++)
        {
            var next = Ask(facts[i], rng, heldOutLast && i == facts.Count - 1);
            if (!fits([.. turns, next])) break;
            turns.Add(next);
        }
        return turns.Count < 2 || (heldOutLast && turns.Count < facts.Count) ? null : new Conversation(turns);
    }
}
