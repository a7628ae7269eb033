using System.Security.Cryptography;
using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Generation;
using MiniGlm.Tokenization;
using MiniGlm.Training;

namespace MiniGlm.Evaluation;

/// What to evaluate: checkpoints (each named as the user gave it), an optional pretraining dataset for the
/// language-modelling figures, and QA files.
public sealed record EvalRequest
{
    public required IReadOnlyList<string> Checkpoints { get; init; }
    public string? Dataset { get; init; }
    public IReadOnlyList<string> QaFiles { get; init; } = [];
    public EvalSettings Settings { get; init; } = new();
}

/// Progress of an evaluation, for a front end to show.
public interface IEvalObserver
{
    void CheckpointStarted(int index, int count, string name, string dir) { }
    void LanguageModelDone(string name, LanguageModelScore score) { }
    void Answered(string name, int done, int total) { }
    void QaDone(string name, QaSummary summary) { }
}

/// Runs an evaluation: every checkpoint, one at a time (only one model in memory), on the same val windows and the
/// same questions. Inputs are all checked before the first model loads, so a typo fails in seconds, not after an hour.
public static class Evaluator
{
    public static EvalResults Run(EvalRequest request, IEvalObserver? observer = null, CancellationToken cancel = default)
    {
        observer ??= new NullObserver();
        var settings = request.Settings;
        settings.Sampling.Validated();
        if (request.Checkpoints.Count == 0) throw new MiniGlmException("eval: no checkpoint given (--ckpt DIR)");
        if (request.Dataset is null && request.QaFiles.Count == 0)
            throw new MiniGlmException("eval: nothing to measure; give --dataset DIR (val loss) and/or --qa FILE (question answering)");
        var duplicate = request.Checkpoints.GroupBy(c => Path.GetFullPath(CheckpointStore.Resolve(c))).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new MiniGlmException($"eval: {string.Join(" and ", duplicate)} are the same checkpoint");

        var twice = request.QaFiles.GroupBy(Path.GetFullPath).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new MiniGlmException($"eval: {twice.First()} is given twice as --qa");
        var qaFiles = request.QaFiles.Select(f => QaReader.Read(f, settings.Limit)).ToList();
        var items = qaFiles.SelectMany(f => f.Items).ToList();
        DatasetMeta? meta = request.Dataset is null ? null : DatasetMeta.Load(request.Dataset);
        if (meta is not null && meta.Kind != DatasetMeta.Pretrain)
            throw new MiniGlmException($"{request.Dataset}: an SFT dataset; give the pretraining dataset (from ./miniglm prepare) for val loss and bits per character");
        using var val = meta is null ? null : TokenFile.Open(DatasetMeta.ValPath(request.Dataset!));
        long valChars = meta is null ? 0 : LanguageModelEval.ValChars(meta, val!, TextTokenizer.Load(meta.Tokenizer));

        var results = new List<CheckpointResult>();
        var answers = new List<List<AnswerScore>>();
        for (int i = 0; i < request.Checkpoints.Count; i++)
        {
            var name = request.Checkpoints[i];
            var dir = CheckpointStore.Resolve(name);
            observer.CheckpointStarted(i, request.Checkpoints.Count, name, dir);
            using var model = LoadedModel.Load(dir, settings.Dtype);
            var notes = new List<string>();
            LanguageModelScore? lm = null;
            if (meta is not null)
            {
                if (model.Config.Tokenizer != meta.Tokenizer)
                    notes.Add($"no val loss: {request.Dataset} was tokenized with {meta.Tokenizer.Name}, the model uses {model.Config.Tokenizer.Name}");
                else
                {
                    lm = LanguageModelEval.Evaluate(model.Generator.Model, val!, valChars, settings.LmWindows);
                    observer.LanguageModelDone(name, lm);
                }
            }
            cancel.ThrowIfCancellationRequested();
            var scores = QaEval.Answer(model, items, settings, done => observer.Answered(name, done, items.Count), cancel);
            if (items.Count > 0 && model.Config.ChatTemplate is null)
                notes.Add("a pretrained model (no chat template): questions were asked in the seed's 问：…\\n答：… template");
            answers.Add(scores);
            var result = Describe(name, dir, model) with
            {
                LanguageModel = lm, Notes = notes,
                Qa = items.Count == 0 ? null : QaSummary.Of(scores),
                QaFiles = qaFiles.Select(f => FileSummary(f.Path, items, scores)).ToList(),
            };
            if (result.Qa is not null) observer.QaDone(name, result.Qa);
            results.Add(result);
        }

        return new EvalResults
        {
            Created = DateTimeOffset.UtcNow, Settings = settings, QaFiles = qaFiles, Checkpoints = results,
            Dataset = meta is null ? null : new DatasetInfo { Path = request.Dataset!, Tokenizer = meta.Tokenizer.Name, ValTokens = val!.Length, ValChars = valChars },
            Questions = items.Select((item, q) => new QuestionResult
            {
                File = item.File, Line = item.Line, Type = item.Type, Key = item.Key, Question = item.Question, Reference = item.Answer,
                History = item.History.Count == 0 ? null : item.History,
                Answers = answers.Select(a => a[q]).ToList(),
            }).ToList(),
        };
    }

    private static CheckpointResult Describe(string name, string dir, LoadedModel model)
    {
        using var weights = File.OpenRead(Path.Combine(dir, CheckpointStore.WeightsFile));
        var runDir = Path.GetDirectoryName(Path.GetFullPath(dir));
        return new CheckpointResult
        {
            Name = name, Path = dir, WeightsSha256 = Convert.ToHexStringLower(SHA256.HashData(weights)),
            Iter = CheckpointStore.ReadState(dir).Iter, Parameters = model.Generator.Model.ParameterCount(),
            Model = model.Config.Model, ChatTemplate = model.Config.ChatTemplate,
            RunDir = runDir is not null && File.Exists(Path.Combine(runDir, MetricsLog.FileName)) ? runDir : null,
        };
    }

    private static QaFileSummary FileSummary(string path, List<QaItem> items, List<AnswerScore> scores)
    {
        var mine = items.Select((item, i) => (item, score: scores[i])).Where(p => p.item.File == path).ToList();
        return new QaFileSummary
        {
            Path = path,
            All = QaSummary.Of(mine.Select(p => p.score).ToList()),
            Types = mine.GroupBy(p => p.item.TypeOrDefault).OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => QaSummary.Of(g.Select(p => p.score).ToList())),
        };
    }

    private sealed class NullObserver : IEvalObserver;
}
