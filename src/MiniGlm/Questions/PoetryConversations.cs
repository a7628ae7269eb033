namespace MiniGlm.Questions;

/// Conversations made of trained questions, so that the model learns to answer the last question whatever came
/// before: each next turn is, more often than not, about the same poem or poet (who wrote it → recite it → the poet's
/// dynasty → other works), else a switch to an unrelated fact. Every question is one training already asks and every
/// answer is its fact's gold answer: a conversation teaches no new fact and no new wording, only the history.
internal sealed class PoetryConversations(IReadOnlyList<AskedFact> trained, Random rng, Func<IReadOnlyList<QaPair>, bool> fits)
{
    private const double FollowUp = 0.7;
    private readonly ILookup<Poem, AskedFact> byPoem = trained.Where(a => a.Fact.Poem is not null).ToLookup(a => a.Fact.Poem!);
    private readonly ILookup<string, AskedFact> byPoet = trained.ToLookup(a => a.Fact.Author);

    /// About this many conversations of 2–4 turns (fewer when the facts' answers are too long to fit two turns).
    public List<Conversation> Training(int count)
    {
        var conversations = new List<Conversation>();
        for (int i = 0; i < count && trained.Count > 1; i++)
        {
            var turns = Grow([Turn(trained[rng.Next(trained.Count)])], rng.Next(2, 5), []);
            if (turns.Count >= 2) conversations.Add(new(turns.Select(t => t.Question).ToList()));
        }
        return conversations;
    }

    /// One to three trained turns, then the given (held-out) question of this fact; null if not even one earlier
    /// turn fits with it. The earlier turns never ask the same fact, which would hand the model the answer.
    public Conversation? EndingWith(PoetryFact fact, QaPair last)
    {
        var others = trained.Where(a => a.Fact != fact).ToList();
        if (others.Count == 0) return null;
        var near = rng.NextDouble() < FollowUp ? Related(fact, [fact]) : [];
        var start = near.Count > 0 ? near[rng.Next(near.Count)] : others[rng.Next(others.Count)];
        var history = Grow([Turn(start)], rng.Next(1, 4), [fact]).Select(t => t.Question).ToList();
        while (history.Count > 0 && !fits([.. history, last])) history.RemoveAt(0);
        // A long last answer (a biography) leaves room for a short question only: try a few.
        for (int attempt = 0; history.Count == 0 && attempt < 20; attempt++)
            if (Turn(others[rng.Next(others.Count)]).Question is var q && fits([q, last])) history.Add(q);
        return history.Count == 0 ? null : new Conversation([.. history, last]);
    }

    private (PoetryFact Fact, QaPair Question) Turn(AskedFact a) => (a.Fact, a.Questions[rng.Next(a.Questions.Count)]);

    /// Adds turns (a few tries) until there are this many, each one that fits and asks a fact not yet asked.
    private List<(PoetryFact Fact, QaPair Question)> Grow(List<(PoetryFact Fact, QaPair Question)> turns, int count, HashSet<PoetryFact> avoid)
    {
        avoid.UnionWith(turns.Select(t => t.Fact));
        for (int attempt = 0; turns.Count < count && attempt < 4 * count; attempt++)
        {
            var near = rng.NextDouble() < FollowUp ? Related(turns[^1].Fact, avoid) : [];
            var next = Turn(near.Count > 0 ? near[rng.Next(near.Count)] : trained[rng.Next(trained.Count)]);
            if (avoid.Contains(next.Fact) || !fits([.. turns.Select(t => t.Question), next.Question])) continue;
            turns.Add(next);
            avoid.Add(next.Fact);
        }
        return turns;
    }

    /// Trained facts about the same poem or the same poet, not yet asked.
    private List<AskedFact> Related(PoetryFact fact, HashSet<PoetryFact> avoid) =>
        (fact.Poem is null ? [] : byPoem[fact.Poem]).Concat(byPoet[fact.Author]).Where(a => !avoid.Contains(a.Fact)).Distinct().ToList();
}
