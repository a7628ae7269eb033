using System.Collections.Concurrent;

namespace MiniGlm.Serving;

/// Side-by-side battles between the served models, their votes and the leaderboard.
///
/// A vote must not be cheap to fake: a battle belongs to the client that started it, battles per client are
/// rate-limited, the server (not the client) decides how both sides are sampled, and a vote counts only once the
/// server has generated both sides in full, for the same conversation, for that client. The vote's prompt is the
/// one the server answered, cut to MaxPromptChars.
public sealed class Arena
{
    /// Battles nobody voted on are forgotten, oldest first, beyond this many.
    public const int MaxOpenBattles = 1000;
    /// Battles one client may start per minute (a battle takes a person several seconds to read and judge).
    public const int BattlesPerMinute = 10;
    public const int MaxPromptChars = 2000;

    private readonly ModelPool pool;
    private readonly ConcurrentDictionary<string, ArenaBattle> open = new();
    private readonly ConcurrentDictionary<string, Queue<DateTime>> started = new();
    private readonly EloLeaderboard leaderboard;
    private readonly Func<DateTime> now;

    public VoteStore Votes { get; }

    public Arena(ModelPool pool, VoteStore votes, Func<DateTime>? clock = null)
    {
        this.pool = pool;
        Votes = votes;
        now = clock ?? (() => DateTime.UtcNow);
        leaderboard = new EloLeaderboard(pool.Workers.Select(w => w.Name));
        foreach (var v in votes.All()) leaderboard.Add(v); // replayed once; each new vote is added as it comes
    }

    /// Starts a battle for a client (its address); null when the client started BattlesPerMinute in the last minute.
    public ArenaBattle? Start(string client)
    {
        var models = pool.Workers;
        if (models.Count < 2) throw new MiniGlmException("the arena needs at least two models (serve with two --ckpt)");
        var t = now();
        var times = started.GetOrAdd(client, _ => new Queue<DateTime>());
        lock (times)
        {
            while (times.Count > 0 && t - times.Peek() >= TimeSpan.FromMinutes(1)) times.Dequeue();
            if (times.Count >= BattlesPerMinute) return null;
            times.Enqueue(t);
        }
        if (started.Count > 10 * MaxOpenBattles) // forget clients idle for a minute
            foreach (var (c, q) in started) lock (q) if (q.Count == 0 || t - q.Last() >= TimeSpan.FromMinutes(1)) started.TryRemove(c, out _);
        int a = Random.Shared.Next(models.Count);
        int b = (a + 1 + Random.Shared.Next(models.Count - 1)) % models.Count;
        var battle = new ArenaBattle(Guid.NewGuid().ToString("N"), client, models[a], models[b], t);
        if (open.Count >= MaxOpenBattles)
            foreach (var old in open.Values.OrderBy(x => x.Started).Take(MaxOpenBattles / 2)) open.TryRemove(old.Id, out _);
        open[battle.Id] = battle;
        return battle;
    }

    /// The client's open battle with this id, or null.
    public ArenaBattle? Find(string id, string client) => open.TryGetValue(id, out var b) && b.Client == client ? b : null;

    /// Records the verdict and closes the battle (one vote per battle). Null if the client has no such open battle;
    /// a MiniGlmException if both sides were not generated in full for the same conversation. If the vote cannot be
    /// stored, the exception propagates and the battle stays open, so the vote can be sent again.
    public ArenaVote? Vote(string id, string client, string winner)
    {
        if (!ArenaVote.Verdicts.Contains(winner))
            throw new MiniGlmException($"winner must be one of {string.Join(", ", ArenaVote.Verdicts)}, got '{winner}'");
        if (Find(id, client) is not { } battle) return null;
        lock (battle)
        {
            if (battle.Voted) return null;
            var prompt = battle.CompleteConversation()
                ?? throw new MiniGlmException("vote after both answers were generated in full for the same conversation");
            var vote = new ArenaVote
            {
                Time = DateTimeOffset.UtcNow, Battle = id, ModelA = battle.A.Name, ModelB = battle.B.Name, Winner = winner,
                Prompt = prompt.Length > MaxPromptChars ? prompt[..MaxPromptChars] : prompt,
            };
            Votes.Append(vote);
            battle.Voted = true;
            open.TryRemove(id, out _);
            lock (leaderboard) leaderboard.Add(vote);
            return vote;
        }
    }

    public List<LeaderboardRow> Leaderboard() { lock (leaderboard) return leaderboard.Rows(); }
}
