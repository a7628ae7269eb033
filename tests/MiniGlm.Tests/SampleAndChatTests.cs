using MiniGlm.Generation;

namespace MiniGlm.Tests;

public class SampleAndChatTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("miniglm-sample-").FullName;

    public void Dispose() => Directory.Delete(root, true);

    [Fact]
    public void Sample_reads_prompts_from_a_file_and_saves_every_sample()
    {
        var ckpt = TinyCheckpoint.Create(Path.Combine(root, "ckpt"));
        var prompts = Path.Combine(root, "prompts.txt");
        File.WriteAllText(prompts, "郭靖\n\n  黄蓉  \n");
        var save = Path.Combine(root, "samples.txt");
        var r = Cli.Run("sample", "--ckpt", ckpt, "--start", $"FILE:{prompts}", "--num_samples", "2", "--max_new_tokens", "5", "--save_path", save);
        Assert.Equal(0, r.Code);
        var saved = File.ReadAllText(save);
        Assert.Equal(4, saved.Split("---------------").Length - 1); // 2 prompts × 2 samples
        Assert.Equal(2, saved.Split('\n').Count(l => l.StartsWith("郭靖")));
        Assert.Equal(2, saved.Split('\n').Count(l => l.StartsWith("黄蓉")));
        // the same seed gives the same text
        var again = Path.Combine(root, "again.txt");
        Cli.Run("sample", "--ckpt", ckpt, "--start", $"FILE:{prompts}", "--num_samples", "2", "--max_new_tokens", "5", "--save_path", again);
        Assert.Equal(saved, File.ReadAllText(again));
    }

    [Fact]
    public void Sample_reports_an_unreadable_prompts_file()
    {
        var ckpt = TinyCheckpoint.Create(Path.Combine(root, "ckpt"));
        var r = Cli.Run("sample", "--ckpt", ckpt, "--start", $"FILE:{Path.Combine(root, "nope.txt")}");
        Assert.Equal(1, r.Code);
        Assert.Contains("nope.txt: prompts file not found", r.Err);
    }

    [Fact]
    public void Chat_session_keeps_history_with_retry_undo_and_clear()
    {
        using var model = LoadedModel.Load(TinyCheckpoint.Create(Path.Combine(root, "ckpt"), ChatTemplate.Seed, blockSize: 64));
        var session = new ChatSession(model);
        var o = new SamplingOptions { MaxNewTokens = 4, StopAtEndOfText = false };
        var first = string.Concat(session.Send("你好", o));
        Assert.Single(session.History);
        Assert.Equal(("你好", first), session.History[0]);
        Assert.Equal(4, session.LastAnswerTokens);
        string.Concat(session.Send("再见", o));
        Assert.Equal(2, session.History.Count);
        var retried = string.Concat(session.Retry(o with { Seed = 99 }));
        Assert.Equal(2, session.History.Count);
        Assert.Equal(("再见", retried), session.History[1]);
        Assert.True(session.Undo());
        Assert.Single(session.History);
        session.Clear();
        Assert.Empty(session.History);
        Assert.False(session.Undo());
        Assert.Throws<MiniGlmException>(() => session.Retry(o));
    }

    /// A stopped answer (Ctrl-C) or one whose stream ended early (a failure) is not a turn the model gave: it stays
    /// in Turns marked cut, is left out of the next prompt, and /retry asks the question again.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_stopped_or_abandoned_answer_stays_cut_and_out_of_the_next_prompt(bool chatModel)
    {
        using var model = LoadedModel.Load(TinyCheckpoint.Create(Path.Combine(root, "ckpt"), chatModel ? ChatTemplate.Seed : null, blockSize: 96, maxTurns: 3));
        var session = new ChatSession(model);
        var o = new SamplingOptions { MaxNewTokens = 4, StopAtEndOfText = false, Seed = 1 };
        var first = string.Concat(session.Send("你好", o));
        using (var stop = new CancellationTokenSource())
            foreach (var _ in session.Send("床前明月光的下一句是什么？", o with { MaxNewTokens = 40 }, stop.Token)) stop.Cancel();
        Assert.Equal([false, true], session.Turns.Select(t => t.Cut));
        Assert.Equal([("你好", first)], session.History);
        var next = model.Tokenizer.Decode(session.Prompt("李白是谁？", 4));
        Assert.Contains("你好", next);
        Assert.DoesNotContain("床前明月光", next);

        foreach (var _ in session.Send("再见", o with { MaxNewTokens = 40 })) break; // the stream ends early, as when it fails
        Assert.True(session.Turns[^1].Cut);
        Assert.DoesNotContain("再见", model.Tokenizer.Decode(session.Prompt("李白是谁？", 4)));

        var retried = string.Concat(session.Retry(o));
        Assert.Equal(("再见", retried, false), (session.Turns[^1].User, session.Turns[^1].Assistant, session.Turns[^1].Cut));
        Assert.Equal(["你好", "再见"], session.History.Select(t => t.User));
    }

    [Fact]
    public void Chat_template_renders_the_seed_format()
    {
        var tok = MiniGlm.Tokenization.TextTokenizer.Load(MiniGlm.Tokenization.TokenizerSpec.Gpt2);
        var ids = ChatTemplate.Seed.Render(tok, [("Q1", "A1"), ("Q2", null)]);
        var expected = tok.Encode("问：Q1\n答：").Concat(tok.Encode("A1")).Append(tok.EotId).Concat(tok.Encode("问：Q2\n答："));
        Assert.Equal(expected, ids);
    }
}
