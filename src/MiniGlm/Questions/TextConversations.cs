namespace MiniGlm.Questions;

/// Conversations of trained questions about a text: after the first turn, each next one asks, more often than not,
/// about the same chapter, else anything trained. Every turn is a training question with its gold answer, so a
/// conversation teaches only that an answer does not depend on what was asked before.
internal sealed class TextConversations(IReadOnlyList<(TextFact Fact, List<QaPair> Questions)> trained, Random rng,
    Func<IReadOnlyList<QaPair>, bool> fits)
{
    private const double SameChapter = 0.7;
    private readonly ILookup<(TextBook, int), int> byChapter =
        Enumerable.Range(0, trained.Count).ToLookup(i => (trained[i].Fact.Book, trained[i].Fact.Chapter));

    public List<Conversation> Training(int count)
    {
        var conversations = new List<Conversation>();
        for (int i = 0; i < count && trained.Count > 1; i++)
        {
            var turns = Extend([Turn(rng.Next(trained.Count))], rng.Next(2, 5), -1);
            if (turns.Count >= 2) conversations.Add(new(turns.Select(t => t.Question).ToList()));
        }
        return conversations;
    }

    /// One to three trained turns about other facts, then the given held-out question; null if none fits with it.
    public Conversation? EndingWith(TextFact fact, QaPair last)
    {
        int self = Enumerable.Range(0, trained.Count).FirstOrDefault(i => trained[i].Fact == fact, -1);
        var start = Near(fact, self);
        if (start < 0) return null;
        var history = Extend([Turn(start)], rng.Next(1, 4), self).Select(t => t.Question).ToList();
        while (history.Count > 0 && !fits([.. history, last])) history.RemoveAt(0);
        return history.Count == 0 ? null : new Conversation([.. history, last]);
    }

    private (int Fact, QaPair Question) Turn(int i) => (i, trained[i].Questions[rng.Next(trained[i].Questions.Count)]);

    /// A trained fact other than `avoid`: of the same chapter most of the time, else any; -1 if there is none.
    private int Near(TextFact fact, int avoid)
    {
        var same = byChapter[(fact.Book, fact.Chapter)].Where(i => i != avoid).ToList();
        if (same.Count > 0 && rng.NextDouble() < SameChapter) return same[rng.Next(same.Count)];
        if (trained.Count < 2 && avoid >= 0) return -1;
        for (int attempt = 0; attempt < 10; attempt++)
            if (rng.Next(trained.Count) is var i && i != avoid) return i;
        return -1;
    }

    /// Adds turns (a few tries) until there are this many, each one that fits and asks a fact not yet asked.
    private List<(int Fact, QaPair Question)> Extend(List<(int Fact, QaPair Question)> turns, int count, int avoid)
    {
        for (int attempt = 0; turns.Count < count && attempt < 4 * count; attempt++)
        {
            int next = Near(trained[turns[^1].Fact].Fact, avoid);
            if (next < 0 || turns.Any(t => t.Fact == next)) continue;
            var turn = Turn(next);
            if (fits([.. turns.Select(t => t.Question), turn.Question])) turns.Add(turn);
        }
        return turns;
    }
}
