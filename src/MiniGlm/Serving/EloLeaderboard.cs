namespace MiniGlm.Serving;

public sealed record LeaderboardRow(string Model, double Elo, int Votes, int Wins, int Losses, int Ties, int BothBad);

/// Elo ratings replayed from the votes in order (Chatbot Arena's online Elo: start 1000, K = 32). A tie and a
/// "both bad" count as half a win each, as the arena counts them; both are also shown apart.
public static class EloLeaderboard
{
    public const double Start = 1000, K = 32;

    public static List<LeaderboardRow> Compute(IEnumerable<ArenaVote> votes, IEnumerable<string> models)
    {
        var elo = new Dictionary<string, double>();
        var counts = new Dictionary<string, int[]>(); // votes, wins, losses, ties, both bad
        void Ensure(string m) { elo.TryAdd(m, Start); counts.TryAdd(m, new int[5]); }
        foreach (var m in models) Ensure(m);
        foreach (var v in votes)
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
        return elo.Select(e => new LeaderboardRow(e.Key, Math.Round(e.Value, 1), counts[e.Key][0], counts[e.Key][1],
                counts[e.Key][2], counts[e.Key][3], counts[e.Key][4]))
            .OrderByDescending(r => r.Elo).ThenBy(r => r.Model, StringComparer.Ordinal).ToList();
    }
}
