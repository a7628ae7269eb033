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

    [Fact]
    public void Chat_template_renders_the_seed_format()
    {
        var tok = MiniGlm.Tokenization.TextTokenizer.Load(MiniGlm.Tokenization.TokenizerSpec.Gpt2);
        var ids = ChatTemplate.Seed.Render(tok, [("Q1", "A1"), ("Q2", null)]);
        var expected = tok.Encode("问：Q1\n答：").Concat(tok.Encode("A1")).Append(tok.EotId).Concat(tok.Encode("问：Q2\n答："));
        Assert.Equal(expected, ids);
    }
}
