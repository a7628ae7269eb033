using System.Diagnostics;
using System.Globalization;
using MiniGlm.Checkpoints;
using MiniGlm.Training;

namespace MiniGlm.Cli.Commands;

/// The whole pipeline in one command, each stage the command a user would type: fetch → corpus → tokenizer →
/// SFT data → prepare → pretrain → prepare-sft → SFT → eval → serve. Finished stages are recorded with the hashes
/// of what they wrote (StageManifest), so a rerun skips them and an interrupted training stage resumes.
public static class QuickstartCommand
{
    private const string Usage = """
        usage: ./miniglm quickstart [--minutes 14] [--port 8000] [--no_serve] [--vocab_size 8192] [--eval_limit N]
                 [--pretrain_iters N] [--sft_iters N]
          From nothing to a chatbot you trained: fetches the chinese-poetry package (npm), writes the corpus, trains
          a tokenizer, builds grounded questions about the quatrains of 唐诗三百首 and 宋词三百首 and their poets,
          pretrains a small GPT on those poems and biographies, fine-tunes it on the questions and conversations of
          them, evaluates it and an early SFT checkpoint (at 1000/4500 of the steps, as the seed compared) on
          held-out questions (alone, and last in a conversation) and on trained ones, then serves the chat page
          until Ctrl-C. --minutes is the training budget (pretrain 35 %, SFT 65 %); the number of steps is set
          from this machine's measured speed. Everything goes to data/, out/quickstart/ and reports/quickstart/;
          a rerun skips finished stages (checked by hash) and resumes an interrupted training. --eval_limit: evaluate only N questions per held-out file (default: all).
          --pretrain_iters, --sft_iters: train exactly this many steps instead of what fits the minutes here
          (to compare runs on a busy machine).
        usage: ./miniglm quickstart --input PATH [PATH …] [--minutes 14] [--port 8000] [--no_serve] [--vocab_size 8192]
                 [--eval_limit N] [--pretrain_iters N] [--sft_iters N] [--encoding NAME] [--keep_traditional]
          The same on your own text (files, folders of *.txt, globs; any of UTF-8, UTF-16, GB18030/GBK): questions
          computed from the text (sft-data build --text), a tokenizer trained on it (at most 512 + 3 per distinct
          character of tokens, so a small text is not learned as whole sentences), pretraining on the text (held-out
          paragraphs left out), SFT, eval, serve. A text longer than the budget is cut to its first 1,600 characters
          per minute of --minutes (at least 4,000; whole chapters first) and the run says how much it used. Everything goes to
          data/quickstart-text/, out/quickstart-text/ and reports/quickstart-text/.
        """;

    private const string Raw = "data/raw/chinese-poetry", Text = "data/raw/poetry-text", Tok = "data/tok/poetry.tiktoken",
        Qa = "data/qa/poetry.jsonl", Conversations = "data/qa/conversations.jsonl", HeldOutParaphrase = "data/qa/heldout_paraphrase.jsonl",
        HeldOutUnseen = "data/qa/heldout_unseen.jsonl", HeldOutMultiTurn = "data/qa/heldout_multiturn.jsonl",
        HeldOutFollowUp = "data/qa/heldout_followup.jsonl", HeldOutUnread = "data/qa/heldout_unread.jsonl",
        InSet = "data/qa/inset.jsonl",
        Knowledge = "data/qa/knowledge", PretrainData = "data/quickstart/pretrain",
        SftData = "data/quickstart/sft", Out = "out/quickstart", Pretrain = "out/quickstart/pretrain",
        Sft = "out/quickstart/sft", Report = "reports/quickstart";

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help")) { Console.WriteLine(Usage); return 0; }
        double minutes = cl.Double("minutes", 14);
        if (minutes <= 0) throw new MiniGlmException($"--minutes must be positive, got {minutes}");
        int port = cl.Int("port", 8000, min: 1), vocab = cl.Int("vocab_size", 8192, min: 260);
        int? evalLimit = cl.Get("eval_limit") is null ? null : cl.Int("eval_limit", 0, min: 1);
        bool serve = !cl.Flag("no_serve");
        int? pretrainIters = cl.Get("pretrain_iters") is null ? null : cl.Int("pretrain_iters", 0, min: 1);
        int? sftIters = cl.Get("sft_iters") is null ? null : cl.Int("sft_iters", 0, min: 1);
        var input = cl.Values("input");
        if (input.Count > 0) return TextRun(cl, input, minutes, port, vocab, evalLimit, serve, pretrainIters, sftIters);
        cl.RejectUnknown("quickstart");

        using var running = Lock(Out);
        var manifest = StageManifest.Load(Path.Combine(Out, "stages.json"));
        var total = Stopwatch.StartNew();
        var stages = new Stages(manifest, 10);
        stages.Run("fetch", ["data", "fetch", "chinese-poetry", "--out", Raw], [Path.Combine(Raw, "package.json")]);
        stages.Run("corpus", ["data", "corpus", "chinese-poetry", "--from", Raw, "--out", Text], [Path.Combine(Text, "corpus.json")]);
        stages.Run("tokenizer", ["tokenizer", "train", "--input", Text, "--vocab_size", I(vocab), "--max_chars", "20000000", "--out", Tok], [Tok]);
        // Quatrains (two couplets) of the two anthologies, each fact asked six of its training ways: few enough facts
        // for a CPU's minutes to teach, short enough to recite. Beside the single questions: conversations of them
        // (a fifth as many), so that a question is answered the same after earlier ones in the chat.
        // Conversations up to 400 GPT-2 tokens fit the 256-token rows of the poetry tokenizer (about 0.9 token a character).
        stages.Run("sft-data", ["sft-data", "build", "--kb", "chinese-poetry", "--package", Raw, "--max_lines", "2", "--phrasings_per_fact", "6",
            "--conversation_tokens", "400", "--out", Qa],
            [Qa, Conversations, HeldOutParaphrase, HeldOutUnseen, HeldOutMultiTurn, HeldOutFollowUp, HeldOutUnread, InSet, Path.Combine(Knowledge, "poems.txt")]);
        // A small val share: the knowledge text is what the model should learn, all of it. 5 % of its ~5.7k tokens
        // (the last biographies) is the least that still holds one window of block_size 256 + 1.
        stages.Run("prepare", ["prepare", "--input", Knowledge, "--tokenizer", Tok, "--val_fraction", "0.05", "--out", PretrainData],
            [Path.Combine(PretrainData, "meta.json"), Path.Combine(PretrainData, "train.bin")]);
        // Conversations first: the val share is taken from the end, so it stays single questions as before.
        stages.Run("prepare-sft", ["prepare-sft", "--input", Conversations, "--input", Qa, "--tokenizer", Tok, "--block_size", "256", "--val_fraction", "0.02", "--out", SftData],
            [Path.Combine(SftData, "meta.json"), Path.Combine(SftData, "train.bin")]);

        stages.Train("pretrain", Config("quickstart.json"), ["--dataset", PretrainData, "--out_dir", Pretrain], minutes * 0.35, vocab, pretrainIters);
        // An early SFT checkpoint is kept beside the final one, as the seed's report compared 1000 and 4500 iterations.
        stages.Train("sft", Config("quickstart_sft.json"), ["--ckpt_dir", Pretrain, "--dataset", SftData, "--out_dir", Sft], minutes * 0.65, vocab, sftIters,
            timedShape: Config("quickstart.json"), snapshotAt: 1000.0 / 4500); // fine-tuning takes its model from the checkpoint, not its config
        string[] early = [.. Directory.GetDirectories(Sft, "iter_*").SelectMany(d => new[] { "--ckpt", d })];
        stages.Run("eval", ["eval", "--ckpt", Sft, .. early, "--dataset", PretrainData, "--qa", HeldOutParaphrase,
            "--qa", HeldOutMultiTurn, "--qa", HeldOutFollowUp, "--qa", HeldOutUnseen, "--qa", HeldOutUnread, "--qa", InSet, .. evalLimit is null ? [] : new[] { "--limit", I(evalLimit.Value) }, "--max_new_tokens", "160", "--out", Report],
            [Path.Combine(Report, "results.json"), Path.Combine(Report, "report.html")]);
        Console.WriteLine($"quickstart: done in {total.Elapsed.TotalMinutes:0.0} min; report: {Path.Combine(Report, "report.html")}");
        if (!serve) return 0;
        return Program.Dispatch(["serve", "--ckpt", Sft, "--ckpt", Pretrain, "--port", I(port)]);
    }

    /// Characters of the user's text per minute of budget: the 论语's 21k characters make ~3.4k questions (one fact
    /// of each sentence type per paragraph) and ~0.7k conversations, which 14 minutes of two cores train about as
    /// many times as the poetry set.
    private const int CharsPerMinute = 1600;
    /// However short the budget, this much text is used: less leaves too few tokens to hold out a validation window.
    private const int MinChars = 4000;

    /// The quickstart on the user's own text: the same stages from sft-data on, into their own directories.
    private static int TextRun(CommandLine cl, List<string> input, double minutes, int port, int vocab, int? evalLimit, bool serve,
        int? pretrainIters, int? sftIters)
    {
        var encoding = cl.Get("encoding");
        bool keep = cl.Flag("keep_traditional");
        cl.RejectUnknown("quickstart");
        const string data = "data/quickstart-text", qaDir = data + "/qa", qa = qaDir + "/text.jsonl", knowledge = qaDir + "/knowledge",
            tok = data + "/text.tiktoken", pretrainData = data + "/pretrain", sftData = data + "/sft", outDir = "out/quickstart-text",
            pretrain = outDir + "/pretrain", sft = outDir + "/sft", report = "reports/quickstart-text";
        string Qa(string name) => Path.Combine(qaDir, name);
        var files = Data.CorpusSources.Expand(input);

        using var running = Lock(outDir);
        var manifest = StageManifest.Load(Path.Combine(outDir, "stages.json"));
        var total = Stopwatch.StartNew();
        var stages = new Stages(manifest, 7);
        int maxChars = (int)Math.Max(MinChars, minutes * CharsPerMinute);
        stages.Run("sft-data", ["sft-data", "build", "--text", .. files, "--max_chars", I(maxChars), "--per_paragraph", "1", .. encoding is null ? [] : new[] { "--encoding", encoding },
                .. keep ? new[] { "--keep_traditional" } : [], "--out", qa],
            [qa, Qa("conversations.jsonl"), Qa("heldout_paraphrase.jsonl"), Qa("heldout_unseen.jsonl"), Qa("heldout_multiturn.jsonl"), Qa("inset.jsonl"),
             Path.Combine(knowledge, "book.txt")], inputs: [.. files]);
        var book = File.ReadAllText(Path.Combine(knowledge, "book.txt"));
        // A byte-level BPE merges until the vocabulary is full: on a small text, whole sentences would become tokens.
        vocab = Math.Min(vocab, 512 + 3 * book.Distinct().Count());
        stages.Run("tokenizer", ["tokenizer", "train", "--input", knowledge, "--vocab_size", I(vocab), "--out", tok], [tok]);
        // Enough validation text for two windows of block_size 128 + 1 tokens, however small the text.
        int tokens = Tokenization.TextTokenizer.FromFile(tok).Encode(book).Count;
        var val = Math.Clamp(260.0 / tokens, 0.04, 0.5).ToString("0.###", CultureInfo.InvariantCulture);
        stages.Run("prepare", ["prepare", "--input", knowledge, "--tokenizer", tok, "--val_fraction", val, "--out", pretrainData],
            [Path.Combine(pretrainData, "meta.json"), Path.Combine(pretrainData, "train.bin")]);
        stages.Run("prepare-sft", ["prepare-sft", "--input", Qa("conversations.jsonl"), "--input", qa, "--tokenizer", tok, "--block_size", "128", "--val_fraction", "0.02", "--out", sftData],
            [Path.Combine(sftData, "meta.json"), Path.Combine(sftData, "train.bin")]);
        // A text's model keeps rows of 128 (8 a batch): its answers are single sentences, and a small text's val split
        // holds one window of 128 + 1 tokens, not always one of 256 + 1 (the poetry quickstart's rows).
        string[] rows = ["--block_size", "128", "--batch_size", "8"];
        stages.Train("pretrain", Config("quickstart.json"), ["--dataset", pretrainData, "--out_dir", pretrain, .. rows], minutes * 0.35, vocab, pretrainIters);
        stages.Train("sft", Config("quickstart_sft.json"), ["--ckpt_dir", pretrain, "--dataset", sftData, "--out_dir", sft, .. rows], minutes * 0.65, vocab, sftIters,
            timedShape: Config("quickstart.json"), snapshotAt: 1000.0 / 4500);
        string[] early = [.. Directory.GetDirectories(sft, "iter_*").SelectMany(d => new[] { "--ckpt", d })];
        stages.Run("eval", ["eval", "--ckpt", sft, .. early, "--dataset", pretrainData, "--qa", Qa("heldout_paraphrase.jsonl"),
            "--qa", Qa("heldout_multiturn.jsonl"), "--qa", Qa("heldout_unseen.jsonl"), "--qa", Qa("inset.jsonl"), .. evalLimit is null ? [] : new[] { "--limit", I(evalLimit.Value) },
            "--max_new_tokens", "160", "--out", report],
            [Path.Combine(report, "results.json"), Path.Combine(report, "report.html")]);
        Console.WriteLine($"quickstart: done in {total.Elapsed.TotalMinutes:0.0} min; report: {Path.Combine(report, "report.html")}");
        if (!serve) return 0;
        return Program.Dispatch(["serve", "--ckpt", sft, "--ckpt", pretrain, "--port", I(port)]);
    }

    /// Steps that fit the budget at this machine's speed, timed on the real training loop for twenty steps (about ten
    /// seconds for this model): its first few dozen steps run slower, and three steps under-measured it by half.
    private static int ItersFor(TrainConfig config, double minutes, int vocab)
    {
        var work = Directory.CreateTempSubdirectory("miniglm-quickstart-");
        try
        {
            var speed = TrainingBenchmark.Run(config with { InitFrom = "scratch", CkptDir = "" }, 20, work.FullName, vocab);
            int iters = Math.Max(10, (int)(minutes * 60_000 / speed.MsPerIter));
            Console.WriteLine($"  measured {speed.MsPerIter:0} ms per step ({speed.TokensPerSec:0} tokens/s): {iters} steps fit {minutes:0.#} min");
            return iters;
        }
        finally { work.Delete(true); }
    }

    /// Held for the whole run: a second quickstart in the same directory would train into the same checkpoints.
    private static FileStream Lock(string outDir)
    {
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, "quickstart.lock");
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { throw new MiniGlmException($"another quickstart is running in this directory ({path} is locked); stop it first"); }
    }

    /// configs/NAME from the working directory (a clone), else the copy installed beside the program (the .NET tool).
    private static string Config(string name)
    {
        var local = Path.Combine("configs", name);
        return File.Exists(local) ? local : Path.Combine(AppContext.BaseDirectory, "configs", name);
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed class Stages(StageManifest manifest, int count)
    {
        private bool redoRest; // once a stage runs, everything after it runs too: its inputs may have changed
        private int number;

        /// <param name="inputs">files the stage reads that no earlier stage wrote (the user's text): hashed too.</param>
        public void Run(string name, string[] command, string[] outputs, string[]? inputs = null)
        {
            if (Skip(name, command, inputs ?? [])) return;
            Execute(name, command, command, inputs ?? [], outputs);
        }

        /// A training stage: resumed if it was started with the same command, config and upstream data; otherwise
        /// started afresh with as many steps as fit its minutes here.
        /// <param name="snapshotAt">If positive, also keep the weights at this share of the steps (snapshot_iter).</param>
        public void Train(string name, string config, string[] args, double minutes, int vocab, int? pinned, string? timedShape = null, double snapshotAt = 0)
        {
            string[] command = ["train", config, .. args], inputs = [config];
            // The budget is part of the stage: a rerun with other --minutes (or pinned steps) trains again.
            string[] record = [.. command, .. pinned is { } n ? new[] { "--max_iters", I(n) } : ["--budget_minutes", minutes.ToString("0.###", CultureInfo.InvariantCulture)]];
            var outDir = args[Array.IndexOf(args, "--out_dir") + 1];
            string[] outputs = [Path.Combine(outDir, "latest", "model.safetensors")];
            if (Skip(name, record, inputs)) return;
            if (!redoRest && manifest.IsStarted(name, record, inputs) && File.Exists(outputs[0]))
            {
                Execute(name, record, ["train", "--out_dir", outDir, "--init_from=resume"], inputs, outputs);
                return;
            }
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true); // a run of other settings or data
            var timed = TrainConfig.Load(config, new CommandLine(args).Overrides());
            if (timedShape is not null) timed = TrainConfig.Load(timedShape, []) with { BatchSize = timed.BatchSize, BlockSize = timed.BlockSize };
            int iters = pinned ?? ItersFor(timed, minutes, vocab);
            manifest.MarkStarted(name, record, inputs);
            string[] snapshot = snapshotAt > 0 ? ["--snapshot_iter", I(Math.Max(1, (int)Math.Round(iters * snapshotAt)))] : [];
            Execute(name, record, [.. command, "--max_iters", I(iters), "--lr_decay_iters", I(iters), .. snapshot], inputs, outputs);
        }

        private bool Skip(string name, string[] command, string[] inputs)
        {
            number++;
            if (redoRest || !manifest.IsDone(name, command, inputs)) return false;
            Console.WriteLine($"[{number}/{count}] {name}: done before, outputs verified — skipped");
            return true;
        }

        private void Execute(string name, string[] record, string[] command, string[] inputs, string[] outputs)
        {
            redoRest = true;
            Console.WriteLine($"[{number}/{count}] {name}: ./miniglm {string.Join(' ', command)}");
            var clock = Stopwatch.StartNew();
            int code = Program.Dispatch(command);
            if (code != 0) throw new MiniGlmException($"quickstart stage {name} failed (exit code {code}); fix the cause and rerun: finished stages are kept");
            // A training stopped by Ctrl-C or SIGTERM saves a checkpoint and exits 0: it is not done, and the stages
            // after it must not run on a half-trained model.
            var latest = command[0] == "train" ? Path.GetDirectoryName(outputs[0]) : null;
            if (latest is not null && CheckpointStore.ReadState(latest) is var state && CheckpointStore.ReadConfig(latest).Train.MaxIters is var max && state.Iter < max)
                throw new MiniGlmException($"quickstart stopped during {name} at step {state.Iter} of {max}; rerun the same command to resume it");
            manifest.MarkDone(name, record, inputs, outputs, clock.Elapsed);
            Console.WriteLine($"[{number}/{count}] {name}: {clock.Elapsed.TotalSeconds:0} s");
        }
    }
}
