using System.Diagnostics;
using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.IO;
using MiniGlm.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniGlm.Training;

/// <param name="SkippedSteps">Iterations whose batches had no trained (unmasked) token, so no update was made.</param>
public sealed record TrainResult(int Iter, double BestValLoss, double? LastValLoss, bool Cancelled, string RunDir, int SkippedSteps = 0);

/// nanoGPT's train.py: AdamW (decay on ≥2-D tensors), warmup + cosine LR, gradient accumulation and clipping,
/// periodic train/val estimates, checkpoints when val improves, resumable to the same curve.
public sealed class Trainer
{
    private readonly TrainConfig cfg;
    private readonly ITrainingObserver observer;

    public Trainer(TrainConfig config, ITrainingObserver? observer = null)
    {
        cfg = config;
        this.observer = observer ?? new NullObserver();
    }

    /// The config a run will use: for init_from=resume the resumed run's own config is the base, so only the
    /// keys given now change (a resume without the original config file continues the same schedule). For
    /// init_from=finetune the model's shape (block_size included) comes from the checkpoint; a shape key given
    /// that contradicts it is an error, since the checkpoint's weights fix the shape.
    public static TrainConfig Configure(string? jsonFile, IReadOnlyList<KeyValuePair<string, string>> overrides)
    {
        var config = TrainConfig.Load(jsonFile, overrides);
        if (config.InitFrom == "resume")
            return TrainConfig.Load(jsonFile, overrides, CheckpointStore.ReadConfig(LatestCheckpoint(config.OutDir)).Train);
        if (config.InitFrom != "finetune") return config;
        var dir = CheckpointStore.Resolve(config.CkptDir);
        var m = CheckpointStore.ReadConfig(dir).Model;
        config = TrainConfig.Load(jsonFile, overrides, new TrainConfig().WithShape(m));
        var given = System.Text.Json.JsonSerializer.SerializeToNode(config)!;
        var saved = System.Text.Json.JsonSerializer.SerializeToNode(new TrainConfig().WithShape(m))!;
        foreach (var key in TrainConfig.ShapeKeys)
            if (given[key]!.ToJsonString() != saved[key]!.ToJsonString())
                throw new MiniGlmException($"config key '{key}' is {given[key]}, but checkpoint {dir} has {saved[key]}: fine-tuning keeps the checkpoint's shape (leave '{key}' out)");
        return config;
    }

    public TrainResult Run(CancellationToken cancel = default)
    {
        torch.set_num_threads(cfg.Threads > 0 ? cfg.Threads : Environment.ProcessorCount);
        var meta = DatasetMeta.Load(cfg.Dataset);
        AtomicFile.RemoveStale(cfg.OutDir); // checkpoints half-written by a killed run
        var (model, ckptConfig, state, from) = BuildModel(meta);
        using var _model = model;
        var device = TrainingDevice();
        model.to(device);
        using IBatchSource batches = meta.Kind == DatasetMeta.Sft
            ? new SftBatcher(cfg.Dataset, meta, cfg.BatchSize, cfg.Seed)
            : new PretrainBatcher(cfg.Dataset, cfg.BatchSize, cfg.BlockSize, cfg.Seed);
        if (batches is SftBatcher sft && sft.BlockSize > model.Config.BlockSize)
            throw new MiniGlmException($"{cfg.Dataset}: rows of {sft.BlockSize} tokens do not fit the model's block_size {model.Config.BlockSize}; run prepare-sft with --block_size {model.Config.BlockSize}");
        var parameters = model.parameters().ToArray();
        using var optimizer = torch.optim.AdamW(new[]
        {
            new AdamW.ParamGroup(parameters.Where(p => p.dim() >= 2), new AdamW.Options { weight_decay = cfg.WeightDecay }),
            new AdamW.ParamGroup(parameters.Where(p => p.dim() < 2), new AdamW.Options { weight_decay = 0.0 }),
        }, cfg.LearningRate, cfg.Beta1, cfg.Beta2);
        if (cfg.InitFrom == "resume") CheckpointStore.LoadOptimizer(from!, optimizer);

        long tokensPerIter = batches.TokensPerBatch * cfg.GradientAccumulationSteps;
        int chunkRows = cfg.ChunkRows(model.Config.VocabSize);
        var dtype = TrainingDtype.Resolve(cfg.Dtype);
        using var _autocast = Autocast.Enable(dtype.ComputeDtype);
        double peak = Mfu.MeasurePeakFlops(dtype.Dtype);
        double flopsPerToken = model.FlopsPerToken(), flopsPerIter = flopsPerToken * tokensPerIter;
        observer.Started(new TrainingStarted(state.Iter, cfg.MaxIters, model.ParameterCount(), tokensPerIter,
            torch.get_num_threads(), peak, cfg.InitFrom, from, dtype, flopsPerToken));

        using var metrics = new MetricsLog(Directory.CreateDirectory(cfg.OutDir).FullName, state.Iter);
        var run = new RunState(state, tokensPerIter);
        var window = Stopwatch.StartNew();
        int windowStart = run.Iter;
        model.train();

        while (true)
        {
            int iter = run.Iter;
            if ((iter % cfg.EvalInterval == 0 || iter == cfg.MaxIters) && run.LastEvalIter != iter)
            {
                var estimate = Estimate(model, batches, chunkRows, device, cancel);
                if (estimate is null) break; // stopped mid-estimate
                var (trainLoss, valLoss) = estimate.Value;
                Finite(trainLoss, iter, "estimated train"); Finite(valLoss, iter, "val");
                run.LastEvalIter = iter;
                run.LastVal = valLoss;
                bool improved = valLoss < run.Best;
                if (improved) run.Best = valLoss;
                metrics.Append(new MetricsRecord { Iter = iter, Split = "train_eval", Loss = trainLoss, Elapsed = run.Elapsed });
                metrics.Append(new MetricsRecord { Iter = iter, Split = "val", Loss = valLoss, Elapsed = run.Elapsed });
                observer.Evaluated(new LossEstimate(iter, trainLoss, valLoss, improved));
                if (iter > 0)
                {
                    if (improved || cfg.AlwaysSaveCheckpoint) Save(CheckpointStore.Best, model, ckptConfig, run, optimizer);
                    Save(CheckpointStore.Latest, model, ckptConfig, run, optimizer);
                }
                window.Restart(); windowStart = iter; // evaluation time is not training throughput
            }
            if (iter >= cfg.MaxIters || cancel.IsCancellationRequested) break;

            double lr = LrSchedule.At(iter, cfg);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            torch.manual_seed(Seeds.Derive(cfg.Seed, Seeds.Stream.Dropout, iter)); // dropout masks depend only on the iteration
            double loss = 0, trainedTokens = 0;
            bool masked = false;
            for (int micro = 0; micro < cfg.GradientAccumulationSteps && !cancel.IsCancellationRequested; micro++)
            {
                using var scope = NewDisposeScope();
                var b = batches.Train(iter, micro).To(device);
                if (b.LossMask is not null) { masked = true; trainedTokens += b.LossMask.sum().item<float>(); }
                foreach (var (chunk, weight) in Chunks(b, chunkRows))
                {
                    var logits = model.Forward(chunk.X, chunk.AttentionMask, positions: chunk.Positions);
                    var l = LanguageModel.Loss(logits, chunk.Y, chunk.LossMask) * (weight / cfg.GradientAccumulationSteps);
                    l.backward();
                    loss += l.item<float>();
                }
            }
            if (cancel.IsCancellationRequested) break; // stopped mid-accumulation: this iteration is not taken
            Finite(loss, iter, "training");
            // A batch whose answers are all masked out (possible with small SFT batches) has nothing to learn:
            // stepping would still move the weights (moments, weight decay), so the step is skipped and counted.
            if (masked && trainedTokens == 0) run.Skipped++;
            else
            {
                if (cfg.GradClip > 0) torch.nn.utils.clip_grad_norm_(parameters, cfg.GradClip);
                optimizer.step();
            }
            optimizer.zero_grad();
            iter = ++run.Iter;
            if (iter == cfg.SnapshotIter) Save(SnapshotDir(iter), model, ckptConfig, run, optimizer);

            if (iter % cfg.LogInterval == 0 || iter == cfg.MaxIters)
            {
                double seconds = window.Elapsed.TotalSeconds;
                double tokensPerSec = (iter - windowStart) * tokensPerIter / seconds;
                double mfu = Mfu.Of(flopsPerIter * (iter - windowStart) / seconds, ref peak);
                metrics.Append(new MetricsRecord { Iter = iter, Split = "train", Loss = loss, LearningRate = lr,
                    TokensPerSec = tokensPerSec, Mfu = mfu, Elapsed = run.Elapsed });
                observer.Step(new StepReport(iter, cfg.MaxIters, loss, lr, tokensPerSec, mfu, run.Elapsed));
                window.Restart(); windowStart = iter;
            }
        }
        if (run.Iter > run.LastSaved) Save(CheckpointStore.Latest, model, ckptConfig, run, optimizer); // Ctrl-C between evaluations
        return new TrainResult(run.Iter, run.Best, run.LastVal, cancel.IsCancellationRequested && run.Iter < cfg.MaxIters, cfg.OutDir, run.Skipped);
    }

    /// Writes the run as it is now to OUT_DIR/which: latest/ with the optimizer (to resume), best/ and snapshots
    /// without.
    private void Save(string which, LanguageModel model, CheckpointConfig config, RunState run, OptimizerHelper optimizer)
    {
        var dir = Path.Combine(cfg.OutDir, which);
        bool latest = which == CheckpointStore.Latest;
        CheckpointStore.Save(dir, model, config, run.State, latest ? optimizer : null);
        if (latest) run.LastSaved = run.Iter;
        observer.Checkpointed(dir, run.Iter);
    }

    /// What the loop advances and a checkpoint records (trainer_state.json), from where the run started.
    private sealed class RunState(TrainerState start, long tokensPerIter)
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        public int Iter = start.Iter, LastSaved = start.Iter, LastEvalIter = start.LastEvalIter, Skipped = start.SkippedSteps;
        public double Best = start.BestValLoss;
        public double? LastVal = start.ValLoss;

        public double Elapsed => start.ElapsedSeconds + clock.Elapsed.TotalSeconds;

        public TrainerState State => start with
        {
            Iter = Iter, BestValLoss = Best, ValLoss = LastVal, LastEvalIter = LastEvalIter, ElapsedSeconds = Elapsed,
            SkippedSteps = Skipped, TokensSeen = start.TokensSeen + (Iter - start.Iter) * tokensPerIter,
        };
    }

    private (LanguageModel, CheckpointConfig, TrainerState, string?) BuildModel(DatasetMeta meta)
    {
        if (cfg.InitFrom == "scratch")
        {
            torch.manual_seed(cfg.Seed);
            var model = LanguageModel.Create(cfg.ModelConfig(GptConfig.PadVocab(meta.VocabSize)));
            return (model, new CheckpointConfig { Model = model.Config, Tokenizer = meta.Tokenizer, Train = cfg, ChatTemplate = meta.ChatTemplate,
                MaxTurns = meta.SftSummary?.MaxTurns }, new TrainerState(), null);
        }
        var dir = cfg.InitFrom == "resume" ? LatestCheckpoint(cfg.OutDir) : CheckpointStore.Resolve(cfg.CkptDir);
        var saved = CheckpointStore.ReadConfig(dir);
        if (saved.Tokenizer != meta.Tokenizer)
            throw new MiniGlmException($"{cfg.Dataset} was prepared with tokenizer {meta.Tokenizer}, but checkpoint {dir} uses {saved.Tokenizer}; prepare the data with the checkpoint's tokenizer (--tokenizer {dir})");
        if (cfg.BlockSize > saved.Model.BlockSize)
            throw new MiniGlmException($"block_size {cfg.BlockSize} is larger than the checkpoint's {saved.Model.BlockSize} ({dir})");
        var (m, _) = CheckpointStore.LoadModel(dir, cfg.Dropout);
        var state = cfg.InitFrom == "resume" ? CheckpointStore.ReadState(dir) : new TrainerState();
        // SFT data brings its chat template and max_turns; otherwise the model keeps the ones it had (if any).
        // The same tokenizer as the checkpoint's (checked above); the dataset's copy of its file is the one to carry on.
        return (m, saved with { Model = m.Config, Tokenizer = meta.Tokenizer, Train = cfg, ChatTemplate = meta.ChatTemplate ?? saved.ChatTemplate,
            MaxTurns = meta.ChatTemplate is null ? saved.MaxTurns : meta.SftSummary?.MaxTurns }, state, dir);
    }

    /// Where snapshot_iter keeps its weights, relative to out_dir.
    public static string SnapshotDir(int iter) => $"iter_{iter}";

    /// CPU by default; a CUDA device needs the TorchBackend=cuda build (dotnet build -p:TorchBackend=cuda) and a GPU.
    private Device TrainingDevice()
    {
        if (cfg.Device == "cpu") return CPU;
        if (!torch.cuda.is_available())
            throw new MiniGlmException($"device {cfg.Device}: CUDA is not available (needs an NVIDIA GPU and a build with -p:TorchBackend=cuda; see docs/formats.md)");
        return torch.device(cfg.Device);
    }

    private static string LatestCheckpoint(string outDir)
    {
        var latest = Path.Combine(outDir, CheckpointStore.Latest);
        if (!Directory.Exists(latest) && !Directory.Exists(latest + ".old"))
            throw new MiniGlmException($"{outDir}: nothing to resume (no {CheckpointStore.Latest}/ checkpoint); train with init_from=scratch first");
        return CheckpointStore.Resolve(latest);
    }

    /// Splits a batch into chunks of rows, each weighted by its share of the batch, so the summed chunk losses
    /// (and gradients) equal the whole batch's mean. With a loss mask the share is of the masked positions.
    private static IEnumerable<(Batch Chunk, double Weight)> Chunks(Batch b, int rows)
    {
        long n = b.X.shape[0];
        if (rows >= n) { yield return (b, 1.0); yield break; }
        double total = b.LossMask is null ? n : Math.Max(1.0, b.LossMask.sum().item<float>());
        for (long start = 0; start < n; start += rows)
        {
            long len = Math.Min(rows, n - start);
            Tensor Slice(Tensor t) => t.narrow(0, start, len);
            Tensor? Maybe(Tensor? t) => t is null ? null : Slice(t);
            var chunk = new Batch(Slice(b.X), Slice(b.Y), Maybe(b.LossMask), Maybe(b.AttentionMask), Maybe(b.Positions));
            double share = b.LossMask is null ? len : chunk.LossMask!.sum().item<float>();
            yield return (chunk, share / total);
        }
    }

    /// A NaN or infinite loss stops the run before anything is saved: the checkpoints on disk stay the last good ones.
    private void Finite(double loss, int iter, string what)
    {
        if (!double.IsFinite(loss))
            throw new MiniGlmException($"iteration {iter}: the {what} loss is {loss}; training stopped, {Path.Combine(cfg.OutDir, CheckpointStore.Latest)} keeps the last good checkpoint (try a lower learning_rate)");
    }

    /// Null when cancelled part-way (an estimate can take long; SIGTERM must not wait for it).
    private (double Train, double Val)? Estimate(LanguageModel model, IBatchSource batches, int chunkRows, Device device, CancellationToken cancel)
    {
        model.eval();
        using var _ = no_grad();
        double Mean(string split)
        {
            double sum = 0;
            for (int i = 0; i < cfg.EvalIters && !cancel.IsCancellationRequested; i++)
            {
                using var scope = NewDisposeScope();
                foreach (var (c, weight) in Chunks(batches.Eval(split, i).To(device), chunkRows))
                    sum += weight * LanguageModel.Loss(model.Forward(c.X, c.AttentionMask, positions: c.Positions), c.Y, c.LossMask).item<float>();
            }
            return sum / cfg.EvalIters;
        }
        var result = (Mean("train"), Mean("val"));
        model.train();
        return cancel.IsCancellationRequested ? null : result;
    }

    private sealed class NullObserver : ITrainingObserver;
}
