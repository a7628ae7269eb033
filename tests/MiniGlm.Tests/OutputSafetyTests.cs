using System.Security.Cryptography;
using MiniGlm.Checkpoints;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// export and import never delete or overwrite what they were not asked to: an existing output only with --force,
/// --force only over the files the output itself consists of, never `<out>.old` or a predictable /tmp path.
/// Each refusal is one line and leaves every file as it was (compared byte for byte).
public class OutputSafetyTests : IDisposable
{
    private readonly TempDir tmp = new();
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "nanogpt-ckpt");

    public void Dispose() => tmp.Dispose();

    /// Every file and folder under root, with a hash of each file's bytes.
    private static SortedDictionary<string, string> Snapshot(string root) => new(
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(
            e => Path.GetRelativePath(root, e),
            e => Directory.Exists(e) ? "dir" : Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(e)))), StringComparer.Ordinal);

    /// Runs a command that must be refused with one line containing <paramref name="message"/>, changing nothing under the temp dir.
    private void Refused(string message, params string[] args)
    {
        var before = Snapshot(tmp.Path);
        var (code, _, err) = Cli.Run(args);
        Assert.True(code == 1, $"exit {code}: {err}");
        Assert.Contains(message, err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Equal(before, Snapshot(tmp.Path));
    }

    private static void Ok(params string[] args)
    {
        var (code, _, err) = Cli.Run(args);
        Assert.True(code == 0, err);
    }

    [Fact]
    public void Hf_export_replaces_only_a_directory_of_its_own_files_and_never_touches_out_old()
    {
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        tmp.Write("hf.old/notes.txt", "mine, not the tool's");
        Ok("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]);
        Assert.Equal("mine, not the tool's", File.ReadAllText(tmp["hf.old/notes.txt"]));

        Refused("already exists; pass --force", "export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]);
        tmp.Write("hf/README.md", "my model card");
        Refused("holds 'README.md', which this output does not have", "export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"], "--force");
        File.Delete(tmp["hf/README.md"]);

        // A directory of other things is never replaced: a folder in it, or a file the export does not write.
        tmp.Write("project/src/main.c", "int main() {}");
        Refused("holds a folder 'src'", "export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["project"], "--force");
        tmp.Write("notes/todo.txt", "buy milk");
        Refused("holds 'todo.txt'", "export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["notes"], "--force");
        tmp.Write("file", "a file where a directory would go");
        Refused("is a file, not a model directory", "export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["file"], "--force");

        // A second export over the first is what --force is for: the same files, new contents.
        File.WriteAllText(tmp["hf/config.json"], "{}");
        Ok("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"], "--force");
        Assert.Contains("GPT2LMHeadModel", File.ReadAllText(tmp["hf/config.json"]));
        Assert.Equal("mine, not the tool's", File.ReadAllText(tmp["hf.old/notes.txt"]));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(tmp.Path), e => e.Contains(".tmp-"));
    }

    [Fact]
    public void Out_dot_with_force_is_refused_in_the_current_directory()
    {
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        Ok("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]);
        var cwd = Environment.CurrentDirectory;
        try
        {
            // Even a directory holding only an export's files: replacing it would pull the directory from under the shell.
            Environment.CurrentDirectory = tmp["hf"];
            Refused("holds the current directory", "export", "--ckpt", ckpt, "--format", "hf", "--out", ".", "--force");
            Refused("holds the current directory", "import", "--from", "nanogpt", Path.Combine(Fixture, "ckpt.pt"), "--tokenizer",
                Path.Combine(Fixture, "meta.pkl"), "--out", ".", "--force");
        }
        finally { Environment.CurrentDirectory = cwd; }
    }

    [Fact]
    public void Import_replaces_only_a_checkpoint_and_never_touches_out_old()
    {
        var ckpt = Path.Combine(Fixture, "ckpt.pt");
        var meta = Path.Combine(Fixture, "meta.pkl");
        tmp.Write("imported.old/keep.bin", [1, 2, 3]);
        Ok("import", "--from", "nanogpt", ckpt, "--tokenizer", meta, "--out", tmp["imported"]);
        Refused("already exists; pass --force", "import", "--from", "nanogpt", ckpt, "--tokenizer", meta, "--out", tmp["imported"]);
        Ok("import", "--from", "nanogpt", ckpt, "--tokenizer", meta, "--out", tmp["imported"], "--force");
        Assert.Equal([1, 2, 3], File.ReadAllBytes(tmp["imported.old/keep.bin"]));

        // A run directory (best/, latest/) is not a checkpoint: --force does not replace it.
        TinyCheckpoint.Create(tmp["run/best"]);
        Refused("holds a folder 'best'", "import", "--from", "nanogpt", ckpt, "--tokenizer", meta, "--out", tmp["run"], "--force");
        // A trained checkpoint's optimizer state is not part of an import: replacing it would lose that file.
        Ok("import", "--from", "nanogpt", ckpt, "--tokenizer", meta, "--out", tmp["trained"]);
        tmp.Write("trained/optimizer.bin", [9]);
        Refused("holds 'optimizer.bin'", "import", "--from", "nanogpt", ckpt, "--tokenizer", meta, "--out", tmp["trained"], "--force");
    }

    [Fact]
    public void Nanogpt_export_overwrites_neither_ckpt_pt_nor_meta_pkl_without_force()
    {
        Ok("import", "--from", "nanogpt", Path.Combine(Fixture, "ckpt.pt"), "--tokenizer", Path.Combine(Fixture, "meta.pkl"), "--out", tmp["chars"]);
        tmp.Write("nano/meta.pkl", "someone else's vocabulary");
        Refused("meta.pkl already exists; pass --force", "export", "--ckpt", tmp["chars"], "--format", "nanogpt", "--out", tmp["nano"]);
        Assert.False(File.Exists(tmp["nano/ckpt.pt"]));
        Ok("export", "--ckpt", tmp["chars"], "--format", "nanogpt", "--out", tmp["nano"], "--force");
        Assert.Equal(64, MiniGlm.Interop.NanoGpt.NanoGptMeta.Read(tmp["nano/meta.pkl"]).Chars!.Count);

        Refused("ckpt.pt already exists; pass --force", "export", "--ckpt", tmp["chars"], "--format", "nanogpt", "--out", tmp["nano"]);
        Directory.CreateDirectory(tmp["dir.pt"]);
        Refused("is a directory", "export", "--ckpt", tmp["chars"], "--format", "nanogpt", "--out", tmp["dir.pt"], "--force");
    }

    [Fact]
    public void Hf_import_keeps_its_scratch_files_in_a_private_directory_not_a_predictable_tmp_path()
    {
        // A trained tokenizer, so the import writes a rank file while it works.
        tmp.Write("corpus/a.txt", string.Concat(Enumerable.Repeat("床前明月光，疑是地上霜。The moon is bright.\n", 30)));
        Ok("tokenizer", "train", "--input", tmp["corpus"], "--vocab_size", "300", "--out", tmp["tok.tiktoken"]);
        var tok = TextTokenizer.FromFile(tmp["tok.tiktoken"]);
        manual_seed(5);
        using (var model = new GptModel(new GptConfig { NLayer = 1, NHead = 2, NEmbd = 16, BlockSize = 16, VocabSize = GptConfig.PadVocab(tok.VocabSize) }))
            CheckpointStore.Save(tmp["ckpt"], model, new CheckpointConfig { Model = model.Config, Tokenizer = tok.Spec, Train = new TrainConfig() }, new TrainerState(), null);
        Ok("export", "--ckpt", tmp["ckpt"], "--format", "hf", "--out", tmp["hf"]);

        // What another user could have put at the name the import once used: it must stay as it was.
        var predictable = Path.Combine(Path.GetTempPath(), $"miniglm-import-{Environment.ProcessId}");
        Directory.CreateDirectory(predictable);
        try
        {
            File.WriteAllText(Path.Combine(predictable, TokenizerSpec.StoredFileName), "planted");
            var scratchBefore = Directory.GetDirectories(Path.GetTempPath(), "miniglm-import-*").Order().ToList();
            Ok("import", "--from", "hf", tmp["hf"], "--out", tmp["back"]);
            Assert.Equal(tok.Spec, CheckpointStore.ReadConfig(tmp["back"]).Tokenizer);
            Assert.Equal("planted", File.ReadAllText(Path.Combine(predictable, TokenizerSpec.StoredFileName)));
            Assert.Equal(scratchBefore, Directory.GetDirectories(Path.GetTempPath(), "miniglm-import-*").Order().ToList()); // its own is gone
        }
        finally { Directory.Delete(predictable, true); }
    }
}
