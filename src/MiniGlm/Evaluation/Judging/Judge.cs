using MiniGlm.Remote;

namespace MiniGlm.Evaluation.Judging;

/// How to judge an evaluation: the endpoint (any OpenAI-compatible server), an optional rubric file, how many
/// requests at once, and where replies are cached.
public sealed record JudgeOptions
{
    public required ChatEndpointOptions Endpoint { get; init; }
    public string? RubricFile { get; init; }
    public int Concurrency { get; init; } = 4;
    public required string CachePath { get; init; }
    /// Requests that fail in a row (after their retries) before the rest are not sent: a judge that is down or
    /// refuses the key would otherwise be asked thousands of times.
    public int GiveUpAfter { get; init; } = 3;
}

/// A large language model's judgement of an evaluation's answers: every answer graded against its reference (the
/// rubric), and the first checkpoint compared with each other one on every question, both answer orders. Prompts
/// already answered come from the cache; a reply without a verdict is counted, never guessed.
public static class Judge
{
    private sealed class Job(string prompt)
    {
        public string Prompt { get; } = prompt;
        public ChatReply? Reply { get; set; }
        public string? Error { get; set; }
    }

    public static async Task<JudgeResults> RunAsync(EvalResults results, JudgeOptions options, Action<int, int>? progress = null,
        CancellationToken ct = default)
    {
        if (options.Concurrency < 1) throw new MiniGlmException($"judge_concurrency must be at least 1, got {options.Concurrency}");
        var rubric = options.RubricFile is null ? Rubric.Graded : Rubric.Load(options.RubricFile);
        var endpoint = new ChatEndpoint(options.Endpoint with { Role = "judge" });
        var questions = results.Questions;
        int checkpoints = results.Checkpoints.Count;

        var graded = questions.Select(q => q.Answers.Select(a => new Job(Rubric.Fill(rubric,
            ("question", QuestionText(q)), ("reference", q.Reference), ("answer", Shown(a.Answer))))).ToArray()).ToArray();
        // The first checkpoint against each other one; per question, A's answer first, then B's first.
        var pairs = Enumerable.Range(1, Math.Max(0, checkpoints - 1)).Select(b => questions.Select(q => new[]
        {
            new Job(Pairwise(q, q.Answers[0].Answer, q.Answers[b].Answer)),
            new Job(Pairwise(q, q.Answers[b].Answer, q.Answers[0].Answer)),
        }).ToArray()).ToArray();
        var jobs = graded.SelectMany(j => j).Concat(pairs.SelectMany(p => p.SelectMany(j => j))).ToList();

        using var cache = new JudgeCache(options.CachePath);
        int requests = 0, cached = 0, failed = 0, done = 0, inARow = 0;
        long promptTokens = 0, completionTokens = 0;
        var errors = new List<string>();
        var url = endpoint.Endpoint.ToString();
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = ct }, async (job, token) =>
        {
            var key = JudgeCache.Key(url, options.Endpoint.Model, job.Prompt);
            if (cache.TryGet(key, out var hit)) { job.Reply = hit; Interlocked.Increment(ref cached); }
            else if (Volatile.Read(ref inARow) >= options.GiveUpAfter) job.Error = "not sent: the judge failed repeatedly";
            else
            {
                Interlocked.Increment(ref requests);
                try
                {
                    var reply = await endpoint.CompleteAsync(job.Prompt, token);
                    cache.Add(key, reply);
                    job.Reply = reply;
                    Interlocked.Add(ref promptTokens, reply.PromptTokens);
                    Interlocked.Add(ref completionTokens, reply.CompletionTokens);
                    Volatile.Write(ref inARow, 0);
                }
                catch (MiniGlmException e)
                {
                    job.Error = e.Message;
                    Interlocked.Increment(ref failed);
                    Interlocked.Increment(ref inARow);
                    lock (errors) if (errors.Count < 5 && !errors.Contains(e.Message)) errors.Add(e.Message);
                }
            }
            progress?.Invoke(Interlocked.Increment(ref done), jobs.Count);
        });

        var verdicts = graded.Select(row => (IReadOnlyList<GradedVerdict>)row.Select(Verdict).ToList()).ToList();
        return new JudgeResults
        {
            Url = url, Model = options.Endpoint.Model, RubricFile = options.RubricFile,
            Graded = results.Checkpoints.Select((c, i) => Summary(c.Name, verdicts.Select(v => v[i]).ToList())).ToList(),
            Answers = verdicts,
            Pairwise = pairs.Select((p, i) => Compare(results.Checkpoints[0].Name, results.Checkpoints[i + 1].Name, p)).ToList(),
            Cost = new JudgeCost
            {
                Requests = requests, Cached = cached, Failed = failed, Retried = endpoint.Retried,
                PromptTokens = promptTokens, CompletionTokens = completionTokens,
            },
            Errors = errors,
        };
    }

    private static GradedVerdict Verdict(Job job) => job.Reply is { } r
        ? VerdictParser.Graded(r.Text, r.FinishReason)
        : new GradedVerdict { Status = VerdictParser.Failed, Reply = job.Error };

    private static GradedSummary Summary(string name, IReadOnlyList<GradedVerdict> v)
    {
        var judged = v.Where(x => x.Score is not null).ToList();
        return new GradedSummary
        {
            Checkpoint = name,
            Correct = v.Count(x => x.Verdict == "correct"), Partly = v.Count(x => x.Verdict == "partly"), Wrong = v.Count(x => x.Verdict == "wrong"),
            Unparseable = v.Count(x => x.Status == VerdictParser.Unparseable), Refused = v.Count(x => x.Status == VerdictParser.Refused),
            Failed = v.Count(x => x.Status == VerdictParser.Failed),
            Score = judged.Count == 0 ? null : judged.Average(x => x.Score!.Value),
            Fluency = judged.Count == 0 ? null : judged.Average(x => x.Fluency!.Value),
        };
    }

    private static PairwiseSummary Compare(string a, string b, Job[][] questions)
    {
        var list = questions.Select(q => Combine(q[0], q[1])).ToList();
        var scores = list.Where(q => q.Outcome is not null).Select(q => q.Outcome switch { "win" => 1.0, "tie" => 0.5, _ => 0.0 }).ToList();
        double? rate = scores.Count == 0 ? null : scores.Average();
        double? half = scores.Count < 2 ? null
            : 1.96 * Math.Sqrt(scores.Sum(s => (s - rate!.Value) * (s - rate.Value)) / (scores.Count - 1)) / Math.Sqrt(scores.Count);
        return new PairwiseSummary
        {
            A = a, B = b, Questions = list,
            Wins = list.Count(q => q.Outcome == "win"), Ties = list.Count(q => q.Outcome == "tie"), Losses = list.Count(q => q.Outcome == "loss"),
            OrderDisagreements = list.Count(q => q.AFirst is "A" or "B" && q.BFirst is "A" or "B" && q.AFirst != q.BFirst),
            Unjudged = list.Count(q => q.Outcome is null),
            WinRate = rate, CiLow = half is null ? null : Math.Max(0, rate!.Value - half.Value), CiHigh = half is null ? null : Math.Min(1, rate!.Value + half.Value),
        };
    }

    /// Both orders' verdicts in terms of the checkpoints: "A" is checkpoint A whichever position it was shown in.
    private static PairwiseQuestion Combine(Job aFirst, Job bFirst)
    {
        var first = Read(aFirst);
        var second = Read(bFirst);
        if (first.Status != VerdictParser.Ok || second.Status != VerdictParser.Ok)
            return new PairwiseQuestion
            {
                Status = first.Status != VerdictParser.Ok ? first.Status : second.Status,
                AFirst = first.Winner, BFirst = second.Winner is null ? null : Swap(second.Winner),
                Reason = aFirst.Error ?? bFirst.Error,
            };
        var x = first.Winner!;
        var y = Swap(second.Winner!);
        return new PairwiseQuestion
        {
            Status = VerdictParser.Ok, AFirst = x, BFirst = y, Reason = first.Reason,
            Outcome = x == "A" && y == "A" ? "win" : x == "B" && y == "B" ? "loss" : "tie",
        };
    }

    private static (string? Winner, string Status, string? Reason) Read(Job job) =>
        job.Reply is { } r ? VerdictParser.Pairwise(r.Text, r.FinishReason) : (null, VerdictParser.Failed, job.Error);

    private static string Swap(string winner) => winner switch { "A" => "B", "B" => "A", _ => winner };

    private static string Pairwise(QuestionResult q, string first, string second) => Rubric.Fill(Rubric.Pairwise,
        ("question", QuestionText(q)), ("reference", q.Reference), ("answer_a", Shown(first)), ("answer_b", Shown(second)));

    /// The question, after the earlier turns of its conversation when it is the last of one.
    private static string QuestionText(QuestionResult q) => q.History is not { Count: > 0 } h ? q.Question
        : string.Concat(h.Select(e => $"(earlier: {e.User} → {e.Assistant}) ")) + q.Question;

    private static string Shown(string answer) => answer.Length == 0 ? "(no answer)" : answer;
}
