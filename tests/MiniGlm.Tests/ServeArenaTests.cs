using System.Net;
using System.Text;
using System.Text.Json;
using MiniGlm.Serving;

namespace MiniGlm.Tests;

/// The arena's API, its durable votes and the Elo leaderboard; and the stop-string matcher the API relies on.
public class ServeArenaTests
{
    private static StringContent Body(object o) => new(JsonSerializer.Serialize(o), Encoding.UTF8, "application/json");

    private static ArenaVote Vote(string a, string b, string winner) =>
        new() { Battle = Guid.NewGuid().ToString("N"), ModelA = a, ModelB = b, Winner = winner };

    [Fact]
    public async Task A_battle_streams_both_sides_anonymously_and_a_vote_reveals_names_and_moves_the_leaderboard()
    {
        using var votes = new TempDir();
        var path = votes["arena/votes.jsonl"];
        await using (var s = new ServerUnderTest(votesPath: path))
        {
            var id = JsonDocument.Parse(await (await s.Http.PostAsync("/arena/battles", Body(new { }))).Content.ReadAsStringAsync())
                .RootElement.GetProperty("id").GetString();
            foreach (var side in new[] { "a", "b" })
            {
                using var res = await s.Http.PostAsync($"/arena/battles/{id}/{side}/chat/completions", Body(new
                {
                    messages = new[] { new { role = "user", content = "李白是谁？" } }, max_tokens = 6, stream = true,
                }));
                var text = await res.Content.ReadAsStringAsync();
                Assert.EndsWith("data: [DONE]\n\n", text);
                Assert.Contains($"\"model\":\"{side.ToUpperInvariant()}\"", text); // anonymous until the vote
                Assert.DoesNotContain("\"model\":\"chat\"", text);
            }
            using var vote = await s.Http.PostAsync($"/arena/battles/{id}/vote", Body(new { winner = "a", prompt = "李白是谁？" }));
            var names = JsonDocument.Parse(await vote.Content.ReadAsStringAsync()).RootElement;
            var (a, b) = (names.GetProperty("model_a").GetString()!, names.GetProperty("model_b").GetString()!);
            Assert.Equal(["chat", "pretrain"], new[] { a, b }.Order());

            using (var again = await s.Http.PostAsync($"/arena/battles/{id}/vote", Body(new { winner = "b" })))
                Assert.Equal(HttpStatusCode.NotFound, again.StatusCode); // one vote per battle

            var board = JsonDocument.Parse(await s.Http.GetStringAsync("/arena/leaderboard")).RootElement.EnumerateArray().ToList();
            Assert.Equal(a, board[0].GetProperty("model").GetString());
            Assert.True(board[0].GetProperty("elo").GetDouble() > 1000);
            Assert.Equal(1, board[0].GetProperty("wins").GetInt32());
            Assert.Equal(1, board[1].GetProperty("losses").GetInt32());
        }
        // A restart reads the votes back.
        await using (var s = new ServerUnderTest(votesPath: path))
        {
            var board = s.Arena.Leaderboard();
            Assert.Equal(1, board[0].Votes);
            Assert.True(board[0].Elo > 1000);
        }
    }

    [Fact]
    public async Task Probing_sides_and_voting_in_a_loop_does_not_move_the_elo()
    {
        // The arena's minute does not pass during the loop, however long a busy machine takes over it.
        var frozen = DateTime.UtcNow;
        await using var s = new ServerUnderTest(arenaClock: () => frozen);
        var chat = new { role = "user", content = "李白是谁？" };
        // What each model answers greedily, learned through the open API.
        var greedy = new Dictionary<string, string>();
        foreach (var model in new[] { "chat", "pretrain" })
        {
            using var res = await s.Http.PostAsync("/v1/chat/completions", Body(new { model, messages = new[] { chat }, temperature = 0, max_tokens = 8 }));
            greedy[model] = JsonDocument.Parse(await res.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0]
                .GetProperty("message").GetProperty("content").GetString()!;
        }
        int battles = 0, limited = 0, refusedVotes = 0;
        for (int round = 0; round < 2 * Arena.BattlesPerMinute; round++)
        {
            using var start = await s.Http.PostAsync("/arena/battles", Body(new { }));
            if (start.StatusCode == HttpStatusCode.TooManyRequests) { limited++; continue; }
            battles++;
            var id = JsonDocument.Parse(await start.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            // Probe side A greedily with a seed; the server samples battles its own way, and keeps the prompt's
            // token count (which depends on the hidden model's tokenizer) to itself.
            using var probe = await s.Http.PostAsync($"/arena/battles/{id}/a/chat/completions",
                Body(new { messages = new[] { chat }, temperature = 0, seed = 1, max_tokens = 8, stream_options = new { include_usage = true } }));
            var answer = JsonDocument.Parse(await probe.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(JsonValueKind.Null, answer.GetProperty("usage").GetProperty("prompt_tokens").ValueKind);
            var guess = greedy.FirstOrDefault(g => g.Value == answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()).Key;
            // Vote for "chat" without generating side B: refused, and the battle stays open.
            using var vote = await s.Http.PostAsync($"/arena/battles/{id}/vote", Body(new { winner = guess == "pretrain" ? "b" : "a" }));
            Assert.Equal(HttpStatusCode.BadRequest, vote.StatusCode);
            Assert.Contains("in full", await vote.Content.ReadAsStringAsync());
            refusedVotes++;
        }
        Assert.Equal(Arena.BattlesPerMinute, battles);
        Assert.Equal(Arena.BattlesPerMinute, limited);
        Assert.Equal(battles, refusedVotes);
        Assert.All(s.Arena.Leaderboard(), r => Assert.Equal((1000.0, 0), (r.Elo, r.Votes)));
        Assert.Empty(s.Arena.Votes.All());
    }

    [Fact]
    public async Task A_battle_is_its_client_s_and_a_vote_that_cannot_be_stored_keeps_the_battle_open()
    {
        using var dir = new TempDir();
        var path = dir["votes.jsonl"];
        Directory.CreateDirectory(path); // a directory where the vote file should be: every append fails
        await using var s = new ServerUnderTest(votesPath: path);
        var battle = s.Arena.Start("10.0.0.1")!;
        Assert.Null(s.Arena.Find(battle.Id, "10.0.0.2"));
        Assert.Null(s.Arena.Vote(battle.Id, "10.0.0.2", "a"));
        foreach (var side in new[] { "a", "b" }) { battle.Answering(side, "conv", "李白是谁？"); battle.Answered(side, "conv", "stop"); }
        Assert.ThrowsAny<Exception>(() => s.Arena.Vote(battle.Id, "10.0.0.1", "a"));
        Directory.Delete(path);
        var vote = s.Arena.Vote(battle.Id, "10.0.0.1", "a");
        Assert.Equal("李白是谁？", vote!.Prompt);
        Assert.Single(new VoteStore(path).All());
        Assert.Equal(1, s.Arena.Leaderboard()[0].Votes);
    }

    [Fact]
    public async Task A_vote_needs_both_sides_answered_in_full_for_the_same_conversation()
    {
        await using var s = new ServerUnderTest();
        var battle = s.Arena.Start("c")!;
        battle.Answering("a", "one", "p"); battle.Answered("a", "one", "stop");
        battle.Answering("b", "two", "q"); battle.Answered("b", "two", "length");
        Assert.Throws<MiniGlmException>(() => s.Arena.Vote(battle.Id, "c", "a")); // different conversations
        battle.Answering("b", "one", "p"); battle.Answered("b", "one", "cancelled");
        Assert.Throws<MiniGlmException>(() => s.Arena.Vote(battle.Id, "c", "a")); // side B was stopped
        var huge = new string('p', 3 * Arena.MaxPromptChars);
        foreach (var side in new[] { "a", "b" }) { battle.Answering(side, "one", huge); battle.Answered(side, "one", "length"); }
        Assert.Equal(Arena.MaxPromptChars, s.Arena.Vote(battle.Id, "c", "tie")!.Prompt.Length);
    }

    [Fact]
    public async Task A_bad_verdict_is_refused_and_one_model_cannot_battle()
    {
        await using var s = new ServerUnderTest(twoModels: false);
        using var res = await s.Http.PostAsync("/arena/battles", Body(new { }));
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        Assert.Contains("two models", await res.Content.ReadAsStringAsync());
    }

    [Fact]
    public void Votes_survive_a_torn_last_line()
    {
        using var dir = new TempDir();
        var path = dir["votes.jsonl"];
        var store = new VoteStore(path);
        store.Append(Vote("x", "y", "a"));
        File.AppendAllText(path, "{\"battle\":\"torn"); // a crash mid-write
        var reopened = new VoteStore(path);
        Assert.Single(reopened.All());
        reopened.Append(Vote("x", "y", "tie"));
        Assert.Equal(["a", "tie"], new VoteStore(path).All().Select(v => v.Winner));
    }

    [Fact]
    public void Elo_rewards_the_winner_and_counts_ties_and_both_bad_apart()
    {
        var board = EloLeaderboard.Compute([Vote("x", "y", "a"), Vote("y", "x", "b"), Vote("x", "y", "tie"), Vote("x", "y", "both_bad")], ["x", "y", "z"]);
        var x = board.Single(r => r.Model == "x");
        var y = board.Single(r => r.Model == "y");
        Assert.Equal("x", board[0].Model);
        Assert.Equal(2000, x.Elo + y.Elo, 1);
        Assert.Equal((4, 2, 0, 1, 1), (x.Votes, x.Wins, x.Losses, x.Ties, x.BothBad));
        Assert.Equal((4, 0, 2, 1, 1), (y.Votes, y.Wins, y.Losses, y.Ties, y.BothBad));
        Assert.Equal(1000, board.Single(r => r.Model == "z").Elo); // served but never voted on
        var equal = EloLeaderboard.Compute([Vote("x", "y", "tie")], []);
        Assert.All(equal, r => Assert.Equal(1000, r.Elo));
    }

    [Fact]
    public void Stop_strings_are_cut_even_across_pieces_and_never_shown()
    {
        var m = new StopMatcher(["答：", "END"]);
        Assert.Equal("春眠", m.Push("春眠"));
        Assert.Equal("不觉", m.Push("不觉答")); // "答" might start the stop string: held back
        Assert.Equal("", m.Push("：晓"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Flush());

        var none = new StopMatcher([]);
        Assert.Equal("答：", none.Push("答：") + none.Flush());
        var o = new StopMatcher(["END"]);
        Assert.Equal("", o.Push("EN"));
        Assert.Equal("ENx", o.Push("x"));
        Assert.Equal("", o.Flush());
        Assert.False(o.Stopped);
    }
}
