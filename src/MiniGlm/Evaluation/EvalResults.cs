using System.Text.Json;
using System.Text.Json.Serialization;
using MiniGlm.Generation;
using MiniGlm.Model;

namespace MiniGlm.Evaluation;

/// One QA file's figures for one checkpoint: the whole file and each question type in it.
public sealed record QaFileSummary
{
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("all")] public required QaSummary All { get; init; }
    [JsonPropertyName("types")] public required IReadOnlyDictionary<string, QaSummary> Types { get; init; }
}

/// A checkpoint evaluated: what it is (its weights' SHA-256 identifies it exactly) and its figures.
public sealed record CheckpointResult
{
    /// As the user named it on the command line.
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("weights_sha256")] public required string WeightsSha256 { get; init; }
    [JsonPropertyName("iter")] public int Iter { get; init; }
    [JsonPropertyName("parameters")] public long Parameters { get; init; }
    [JsonPropertyName("model_args")] public required GptConfig Model { get; init; }
    [JsonPropertyName("chat_template")] public ChatTemplate? ChatTemplate { get; init; }
    /// The run directory whose metrics.jsonl gives the loss curve, when there is one.
    [JsonPropertyName("run_dir")] public string? RunDir { get; init; }
    [JsonPropertyName("lm")] public LanguageModelScore? LanguageModel { get; init; }
    [JsonPropertyName("qa")] public QaSummary? Qa { get; init; }
    [JsonPropertyName("qa_files")] public IReadOnlyList<QaFileSummary> QaFiles { get; init; } = [];
    /// Anything the reader should know, e.g. why a figure is missing.
    [JsonPropertyName("notes")] public IReadOnlyList<string> Notes { get; init; } = [];
}

/// One question with every checkpoint's answer, in the order of the checkpoints.
public sealed record QuestionResult
{
    [JsonPropertyName("file")] public required string File { get; init; }
    [JsonPropertyName("line")] public int Line { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("key")] public string? Key { get; init; }
    [JsonPropertyName("question")] public required string Question { get; init; }
    /// Earlier exchanges of its conversation, asked before it (absent for a single question).
    [JsonPropertyName("history"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<Exchange>? History { get; init; }
    [JsonPropertyName("reference")] public required string Reference { get; init; }
    [JsonPropertyName("answers")] public required IReadOnlyList<AnswerScore> Answers { get; init; }
}

/// The dataset whose val split gave the language-modelling figures.
public sealed record DatasetInfo
{
    [JsonPropertyName("path")] public required string Path { get; init; }
    [JsonPropertyName("tokenizer")] public required string Tokenizer { get; init; }
    [JsonPropertyName("val_tokens")] public long ValTokens { get; init; }
    [JsonPropertyName("val_chars")] public long ValChars { get; init; }
}

/// Everything an evaluation measured (results.json); the reports are drawn from it alone.
public sealed record EvalResults
{
    public const string FileName = "results.json";

    [JsonPropertyName("format")] public string Format { get; init; } = "miniglm-eval-1";
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    [JsonPropertyName("settings")] public required EvalSettings Settings { get; init; }
    [JsonPropertyName("dataset")] public DatasetInfo? Dataset { get; init; }
    [JsonPropertyName("qa_files")] public IReadOnlyList<QaFile> QaFiles { get; init; } = [];
    [JsonPropertyName("checkpoints")] public required IReadOnlyList<CheckpointResult> Checkpoints { get; init; }
    [JsonPropertyName("questions")] public IReadOnlyList<QuestionResult> Questions { get; init; } = [];
    /// A language model's judgement (eval --judge); absent without one.
    [JsonPropertyName("judge"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Judging.JudgeResults? Judge { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";
}
