using System.Diagnostics;
using System.Text.RegularExpressions;
using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Tokenization;
using MiniGlm.Training;

namespace MiniGlm.Tests;

/// Training that is killed, diverges or is asked to stop: what is on disk afterwards.
public class TrainingFaultTests : IDisposable
{
    private const int EvalInterval = 2;
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private string Dataset()
    {
        var text = string.Concat(Enumerable.Range(0, 60).Select(i => $"第{i % 7}回 郭靖和黄蓉在桃花岛上练武，洪七公教他们降龙十八掌。\n"));
        CorpusPreparer.Prepare(new PrepareOptions { Inputs = [dir.Write("corpus.txt", text)], OutDir = dir["data"] }, TextTokenizer.Load(TokenizerSpec.Gpt2));
        return dir["data"];
    }

    private static (string Key, string Value)[] Tiny(string data, string run, params (string Key, string Value)[] extra) =>
    [
        .. new (string Key, string Value)[]
        {
        ("dataset", data), ("out_dir", run), ("n_layer", "2"), ("n_head", "2"), ("n_embd", "64"), ("block_size", "32"),
        ("batch_size", "8"), ("eval_iters", "2"), ("eval_interval", EvalInterval.ToString()), ("log_interval", "1"),
        ("warmup_iters", "5"), ("learning_rate", "3e-3"), ("min_lr", "3e-4"), ("threads", "1"), ("always_save_checkpoint", "true"),
        ("max_iters", "100000"), ("lr_decay_iters", "100000"),
        }.Where(d => extra.All(x => x.Key != d.Key)),
        .. extra,
    ];

    /// `./miniglm train` as a child process (the CLI the tests built), its output drained and kept.
    private static Process StartTrain(IEnumerable<(string Key, string Value)> config, List<string> output)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MiniGlm.Cli.dll"));
        start.ArgumentList.Add("train");
        foreach (var (k, v) in config) start.ArgumentList.Add($"--{k}={v}");
        var p = Process.Start(start)!;
        void Keep(object _, DataReceivedEventArgs e) { if (e.Data is not null) lock (output) output.Add(e.Data); }
        p.OutputDataReceived += Keep; p.ErrorDataReceived += Keep;
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        return p;
    }

    private static int LastLoggedIter(string run) =>
        File.Exists(Path.Combine(run, MetricsLog.FileName)) ? MetricsLog.Read(Path.Combine(run, MetricsLog.FileName)).Select(r => r.Iter).DefaultIfEmpty(0).Max() : 0;

    /// SIGKILL 20 times: every other kill is aimed at a checkpoint save (sent the moment the child's
    /// `*.tmp-<pid>` directory appears), the rest land at random moments. A kill that leaves a half-written save
    /// behind (that directory, or `latest.old` between the two renames) landed mid-save, and at least half of the
    /// aimed ones must. Every time, the run resumes from a whole checkpoint that lost at most one interval.
    /// SIGKILL ends the process, not the machine: that a save also survives a power cut rests on its fsyncs
    /// (AtomicFile, CheckpointStore), which no test here can show.
    [Fact]
    public async Task Training_killed_at_random_moments_and_mid_save_always_resumes_from_a_whole_checkpoint()
    {
        const int Kills = 20; // each costs a process start (~2 s, more on a loaded machine)
        var data = Dataset();
        var run = dir["run"];
        var rng = new Random(7);
        int aimedMidSave = 0, randomMidSave = 0, furthest = 0;
        var clock = Stopwatch.StartNew();
        bool HalfWritten() => Directory.EnumerateFileSystemEntries(run).Any(e => Regex.IsMatch(Path.GetFileName(e), @"\.tmp-\d+$|\.old$"));
        for (int kill = 0; kill < Kills; kill++)
        {
            bool resume = kill > 0, aimed = kill % 2 == 1;
            int from = 0;
            if (resume)
            {
                var latest = CheckpointStore.Resolve(Path.Combine(run, CheckpointStore.Latest)); // throws if no whole checkpoint
                from = CheckpointStore.ReadState(latest).Iter;
                int reached = LastLoggedIter(run);
                Assert.True(reached - from <= EvalInterval, $"kill {kill}: reached iter {reached}, but the checkpoint is at {from}");
                Assert.True(from >= furthest, $"kill {kill}: the checkpoint went back from {furthest} to {from}");
                furthest = from;
            }
            var output = new List<string>();
            using var child = StartTrain(Tiny(data, run, ("init_from", resume ? "resume" : "scratch")), output);
            // First wait until the child has saved a checkpoint past its start (so every run makes progress).
            var state = Path.Combine(run, CheckpointStore.Latest, "trainer_state.json");
            var until = DateTime.UtcNow.AddSeconds(60);
            while (!child.HasExited && DateTime.UtcNow < until)
            {
                try { if (File.Exists(state) && CheckpointStore.ReadState(Path.GetDirectoryName(state)!).Iter > from) break; }
                catch (Exception e) when (e is MiniGlmException or IOException) { } // read while being replaced (renamed away)
                await Task.Delay(5);
            }
            Assert.False(child.HasExited, $"kill {kill}: training exited by itself:\n{string.Join("\n", output.TakeLast(10))}");
            if (aimed)
            {
                // The next save: its temporary directory appears, then (fsyncs and two renames later) is gone.
                var tmp = $".tmp-{child.Id}";
                while (!child.HasExited && DateTime.UtcNow < until && !Directory.EnumerateFileSystemEntries(run).Any(e => e.EndsWith(tmp)))
                    Thread.Sleep(1);
            }
            else await Task.Delay(rng.Next(0, 250));
            child.Kill();
            await child.WaitForExitAsync();
            if (HalfWritten()) { if (aimed) aimedMidSave++; else randomMidSave++; }
        }
        // A last resume in-process finishes cleanly and removes what the killed runs left behind.
        var resumed = Trainer.Configure(null, [new("out_dir", run), new("init_from", "resume"), new("max_iters", (furthest + 2 * EvalInterval).ToString())]);
        var result = new Trainer(resumed).Run();
        Assert.Equal(furthest + 2 * EvalInterval, result.Iter);
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(run), e => Regex.IsMatch(Path.GetFileName(e), @"\.tmp-\d+$"));
        var summary = $"{Kills} kills in {clock.Elapsed.TotalSeconds:F0} s: {aimedMidSave} of {Kills / 2} aimed and {randomMidSave} of {Kills / 2} random " +
                      $"ones landed mid-save; resumed each time, furthest checkpoint iter {furthest}";
        Console.WriteLine(summary);
        Assert.True(aimedMidSave >= Kills / 4, summary);
    }

    [Fact]
    public void A_diverging_loss_stops_training_naming_the_iteration_and_keeps_the_last_good_checkpoint()
    {
        var data = Dataset();
        var run = dir["run"];
        new Trainer(TrainConfig.Load(null, Tiny(data, run, ("max_iters", "4")).Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2)))).Run();
        var latest = Path.Combine(run, CheckpointStore.Latest);
        Assert.Equal(4, CheckpointStore.ReadState(latest).Iter);
        var config = Trainer.Configure(null, [new("out_dir", run), new("init_from", "resume"), new("max_iters", "40"), new("learning_rate", "1e30"),
            new("grad_clip", "0")]);
        var e = Assert.Throws<MiniGlmException>(() => new Trainer(config).Run());
        Assert.Matches(@"^iteration \d+: the [a-z ]+ loss is (NaN|-?∞|-?Infinity); training stopped", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Equal(4, CheckpointStore.ReadState(latest).Iter);
        CheckpointStore.LoadModel(latest).Model.Dispose(); // still whole
    }

    /// The evaluation below would take tens of minutes (100000 batches); a stop honoured only after it would fail the
    /// bound by far, which leaves a loaded machine room (on a quiet one the stop takes milliseconds).
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_stop_request_during_a_long_evaluation_is_honoured_within_the_evaluation()
    {
        var data = Dataset();
        var run = dir["run"];
        // 100000 eval batches; the stop comes while they run.
        var config = TrainConfig.Load(null, Tiny(data, run, ("eval_iters", "100000"), ("max_iters", "10"))
            .Select(p => new KeyValuePair<string, string>(p.Item1, p.Item2)));
        using var cts = new CancellationTokenSource();
        var training = Task.Run(() => new Trainer(config).Run(cts.Token));
        await Task.Delay(1500);
        Assert.False(training.IsCompleted);
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var result = await training.WaitAsync(StopBound);
        Console.WriteLine($"stopped {clock.Elapsed.TotalSeconds:F1} s after the request");
        Assert.True(result.Cancelled);
    }

    [Fact]
    public async Task Sigterm_stops_the_train_command_during_a_long_evaluation()
    {
        var data = Dataset();
        var run = dir["run"];
        var output = new List<string>();
        using var child = StartTrain(Tiny(data, run, ("eval_iters", "100000")), output);
        // metrics.jsonl is opened just before the loop, whose first step is the (here endless) evaluation.
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(Path.Combine(run, MetricsLog.FileName)) && !child.HasExited && DateTime.UtcNow < until) await Task.Delay(20);
        await Task.Delay(1000);
        Assert.False(child.HasExited, string.Join("\n", output));
        var clock = Stopwatch.StartNew();
        using (var term = Process.Start("kill", ["-TERM", child.Id.ToString()])) await term.WaitForExitAsync();
        var exited = await Task.WhenAny(child.WaitForExitAsync(), Task.Delay(StopBound)) is var t && child.HasExited;
        if (!exited) child.Kill();
        Assert.True(exited, $"still running {clock.Elapsed.TotalSeconds:F1} s after SIGTERM:\n{string.Join("\n", output)}");
        Console.WriteLine($"exited {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
        Assert.Equal(0, child.ExitCode);
        lock (output) Assert.Contains(output, l => l.Contains("stopping"));
    }
}
