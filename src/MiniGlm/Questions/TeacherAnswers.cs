namespace MiniGlm.Questions;

/// What one teacher run did: questions it had to ask (not already cached), answers it got, answers it dropped
/// by reason (dropped questions are not cached, so a rerun asks them again).
public sealed record TeacherRun(int Asked, int Answered, SortedDictionary<string, int> Dropped, int Requests);

/// The seed's method: questions go to the teacher N per request, numbered, under an instruction header; the
/// numbered reply is split into answers, and each good answer is cached at once.
public static class TeacherAnswers
{
    public const string Unparseable = "unparseable";
    public const string Empty = "empty";
    public const string Duplicate = "duplicate of another answer";

    /// The seed's prompt (utils/prompt.txt) with the count as a parameter, the numbering asked for explicitly, and
    /// its rules bulleted instead of numbered 1–3 (numbered rules before numbered questions confuse the reply).
    public const string SeedPrompt = """
        现在你被要求回答{n}个问题，注意事项如下：
        - 尽量让{n}个回答多样化：如，使用不同的动词、名词、句式等等。
        - 你的回答要尽可能地详细，可以补充扩展信息。
        - 按问题的编号逐条回答，每个回答以“编号. ”开头，不要重复问题，不要有空行。
        问题列表如下：
        """;

    public static string Prompt(string header, IReadOnlyList<string> questions) =>
        header.Replace("{n}", questions.Count.ToString()).TrimEnd() + "\n" +
        string.Concat(questions.Select((q, i) => $"{i + 1}. {q}\n"));

    public static async Task<TeacherRun> AnswerAsync(
        IReadOnlyList<string> questions, TeacherClient client, TeacherCache cache, int perRequest, int concurrency,
        string header = SeedPrompt, Action<int>? answered = null, CancellationToken ct = default)
    {
        var missing = questions.Distinct().Where(q => !cache.TryGet(q, out _)).ToList();
        var dropped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<string>(questions.Select(q => cache.TryGet(q, out var a) ? QaPair.Comparable(a) : null).OfType<string>());
        int got = 0, requests = 0;
        var gate = new Lock();
        await Parallel.ForEachAsync(missing.Chunk(perRequest), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = ct },
            async (batch, token) =>
            {
                var reply = await client.CompleteAsync(Prompt(header, batch), token);
                var answers = NumberedReply.Parse(reply, batch);
                lock (gate)
                {
                    requests++;
                    for (int i = 0; i < batch.Length; i++)
                    {
                        string? reason = answers[i] switch
                        {
                            null => Unparseable,
                            var a when QaPair.Comparable(a).Length == 0 => Empty,
                            var a when !seen.Add(QaPair.Comparable(a)) => Duplicate,
                            _ => null,
                        };
                        if (reason is not null) { dropped[reason] = dropped.GetValueOrDefault(reason) + 1; continue; }
                        cache.Add(batch[i], answers[i]!);
                        got++;
                    }
                    answered?.Invoke(got);
                }
            });
        return new TeacherRun(missing.Count, got, dropped, requests);
    }
}
