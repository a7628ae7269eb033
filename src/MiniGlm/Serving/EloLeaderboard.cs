namespace MiniGlm.Serving;

public sealed record LeaderboardRow(string Model, double Elo, int Votes, int Wins, int Losses, int Ties, int BothBad);

/// Elo ratings updated vote by vote, in order (Chatbot Arena's online Elo: start 1000, K = 32). A tie and a
/// "both bad" count as half a win each, as the arena counts them; both are also shown apart. Not thread-safe.
public sealed class EloLeaderboard
{
    public const double Start = 1000, K = 32;

    private readonly Dictionary<string, double> elo = new();
    private readonly Dictionary<string, int[]> counts = new(); // votes, wins, losses, ties, both bad

    /// Models listed from the start, rated 1000 before anyone votes on them.
    public EloLeaderboard(IEnumerable<string> models)
    {
        foreach (var m in models) Ensure(m);
    }

    public static List<LeaderboardRow> Compute(IEnumerable<ArenaVote> votes, IEnumerable<string> models)
    {
        var board = new EloLeaderboard(models);
        foreach (var v in votes) board.Add(v);
        return board.Rows();
    }

    public void Add(ArenaVote v)
    {
        Ensure(v.ModelA); Ensure(v.ModelB);
        double scoreA = v.Winner switch { "a" => 1, "b" => 0, _ => 0.5 };
        double expectA = 1 / (1 + Math.Pow(10, (elo[v.ModelB] - elo[v.ModelA]) / 400));
        elo[v.ModelA] += K * (scoreA - expectA);
        elo[v.ModelB] -= K * (scoreA - expectA);
        foreach (var (m, won) in new[] { (v.ModelA, "a"), (v.ModelB, "b") })
        {
            var c = counts[m];
            c[0]++;
            c[v.Winner switch { "tie" => 3, "both_bad" => 4, _ when v.Winner == won => 1, _ => 2 }]++;
        }
    }

    public List<LeaderboardRow> Rows() =>
        elo.Select(e => new LeaderboardRow(e.Key, Math.Round(e.Value, 1), counts[e.Key][0], counts[e.Key][1],
                counts[e.Key][2], counts[e.Key][3], counts[e.Key][4]))
            .OrderByDescending(r => r.Elo).ThenBy(r => r.Model, StringComparer.Ordinal).ToList();

    private void Ensure(string m) { elo.TryAdd(m, Start); counts.TryAdd(m, new int[5]); }
}
