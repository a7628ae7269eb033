namespace MiniGlm.Questions;

/// Conversations made of trained questions, so that the model learns to answer the last question whatever came
/// before. Two kinds. Spoken ones (<see cref="Spoken"/> of them) are follow-ups as people say them: a trained
/// question, then 「背一下」, 「他还写过什么」, 「下一句呢？」 about what the answer before named (PoetryFollowUps), half of
/// them starting from a famous poem. The others ask trained questions in full, each next turn more often than not
/// about the same poem or poet (who wrote it → recite it → the poet's dynasty → other works), else a switch to an
/// unrelated fact. Every answer is its fact's gold answer: a conversation teaches no new fact, only the history
/// and the short forms.
internal sealed class PoetryConversations(IReadOnlyList<AskedFact> trained, PoetryFollowUps followUps, IReadOnlySet<Poem> famous,
    Random rng, Func<IReadOnlyList<QaPair>, bool> fits)
{
    private const double FollowUp = 0.7, Spoken = 0.6;
    private readonly ILookup<Poem, AskedFact> byPoem = trained.Where(a => a.Fact.Poem is not null).ToLookup(a => a.Fact.Poem!);
    private readonly ILookup<string, AskedFact> byPoet = trained.ToLookup(a => a.Fact.Author);
    private readonly List<AskedFact> aboutFamous = trained.Where(a => a.Fact.Poem is { } p && famous.Contains(p)).ToList();

    /// The kinds of reference a follow-up makes (FollowUps.TypeOf names their types).
    public static readonly IReadOnlyList<string> References = ["poem", "poet", "line", "ordinal"];

    /// About this many conversations of 2–4 turns (fewer when the facts' answers are too long to fit two turns).
    public List<Conversation> Training(int count)
    {
        var conversations = new List<Conversation>();
        for (int i = 0; i < count && trained.Count > 1; i++)
        {
            if (rng.NextDouble() < Spoken && Chain(rng.Next(2, 5), null, heldOutLast: false) is { } spoken) { conversations.Add(spoken); continue; }
            var turns = Grow([Turn(trained[rng.Next(trained.Count)])], rng.Next(2, 5), []);
            if (turns.Count >= 2) conversations.Add(new(turns.Select(t => t.Question).ToList()));
        }
        return conversations;
    }

    /// Up to this many conversations per kind of reference, each ending in a held-out short form (a few tries each).
    public List<Conversation> HeldOutFollowUps(int perReference)
    {
        var found = new List<Conversation>();
        foreach (var reference in References)
        {
            var seen = new HashSet<string>();
            for (int attempt = 0; seen.Count < perReference && attempt < 20 * perReference; attempt++)
                if (Chain(rng.Next(2, 4), reference, heldOutLast: true) is { } c
                    && seen.Add(string.Join("|", c.Turns.Select(t => QaPair.Comparable(t.Question + t.Answer)))))
                    found.Add(c);
        }
        return found;
    }

    /// A trained question, then follow-ups each about what the answer before named, the last one of this kind of
    /// reference when one is given; null when the chain got no follow-up (or not the wanted last one).
    private Conversation? Chain(int turns, string? lastReference, bool heldOutLast)
    {
        var start = aboutFamous.Count > 0 && rng.Next(2) == 0 ? aboutFamous[rng.Next(aboutFamous.Count)] : trained[rng.Next(trained.Count)];
        var chain = new List<(PoetryFact Fact, FollowUpFact FollowUp)> { Trained(start) };
        var asked = new HashSet<(string, string)> { (start.Fact.Type, start.Fact.X) };
        while (chain.Count < turns)
        {
            var options = followUps.After(chain[^1].Fact, rng).Where(o => !asked.Contains((o.Fact.Type, o.Fact.X))).ToList();
            if (lastReference is not null && chain.Count == turns - 1) options = options.Where(o => o.FollowUp.Reference == lastReference).ToList();
            if (options.Count == 0) break;
            var next = options[rng.Next(options.Count)];
            chain.Add(next);
            asked.Add((next.Fact.Type, next.Fact.X));
        }
        if (lastReference is not null && (chain.Count < turns || chain[^1].FollowUp.Reference != lastReference)) return null;
        return FollowUps.Chain(chain.Select(c => c.FollowUp).ToList(), rng, fits, heldOutLast);
    }

    private (PoetryFact, FollowUpFact) Trained(AskedFact a) => (a.Fact, new FollowUpFact(a.Questions[rng.Next(a.Questions.Count)], "", []));

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
