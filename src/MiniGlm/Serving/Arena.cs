using System.Collections.Concurrent;

namespace MiniGlm.Serving;

/// A battle: two different models drawn at random, known to the page only as A and B until the vote.
public sealed record ArenaBattle(string Id, ModelWorker A, ModelWorker B, DateTime Started);

/// Side-by-side battles between the served models, their votes and the leaderboard.
public sealed class Arena(ModelPool pool, VoteStore votes)
{
    /// Battles nobody voted on are forgotten, oldest first, beyond this many.
    public const int MaxOpenBattles = 1000;
    private readonly ConcurrentDictionary<string, ArenaBattle> open = new();

    public VoteStore Votes => votes;

    public ArenaBattle Start()
    {
        var models = pool.Workers;
        if (models.Count < 2) throw new MiniGlmException("the arena needs at least two models (serve with two --ckpt)");
        int a = Random.Shared.Next(models.Count);
        int b = (a + 1 + Random.Shared.Next(models.Count - 1)) % models.Count;
        var battle = new ArenaBattle(Guid.NewGuid().ToString("N"), models[a], models[b], DateTime.UtcNow);
        if (open.Count >= MaxOpenBattles)
            foreach (var old in open.Values.OrderBy(x => x.Started).Take(MaxOpenBattles / 2)) open.TryRemove(old.Id, out _);
        open[battle.Id] = battle;
        return battle;
    }

    public ArenaBattle? Find(string id) => open.TryGetValue(id, out var b) ? b : null;

    /// Records the verdict and closes the battle (one vote per battle); null if the battle is unknown or closed.
    public ArenaVote? Vote(string id, string winner, string prompt)
    {
        if (!ArenaVote.Verdicts.Contains(winner))
            throw new MiniGlmException($"winner must be one of {string.Join(", ", ArenaVote.Verdicts)}, got '{winner}'");
        if (!open.TryRemove(id, out var battle)) return null;
        var vote = new ArenaVote
        {
            Time = DateTimeOffset.UtcNow, Battle = id, ModelA = battle.A.Name, ModelB = battle.B.Name, Winner = winner, Prompt = prompt,
        };
        votes.Append(vote);
        return vote;
    }

    public List<LeaderboardRow> Leaderboard() => EloLeaderboard.Compute(votes.All(), pool.Workers.Select(w => w.Name));
}
