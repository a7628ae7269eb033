using System.Diagnostics;
using MiniGlm.IO;
using MiniGlm.Questions;
using MiniGlm.Tokenization;

namespace MiniGlm.Cli.Commands;

public static class SftDataCommand
{
    private const string Usage = """
        usage: ./miniglm sft-data build --kb chinese-poetry --out data/qa/poetry.jsonl [--package data/raw/chinese-poetry]
                 [--poems anthologies|all] [--max_lines N] [--max_per_template N] [--seed 1234] [--phrasings_per_fact 2]
                 [--next_lines_per_poem 2] [--max_answer_tokens 200] [--block_size 256] [--heldout_fraction 0.05] [--heldout_per_type 50]
                 [--conversation_share 0.2] [--conversation_tokens 200] [--heldout_multiturn_per_type 25]
                 [--heldout_followup_per_reference 25] [--refusal_share 0.15] [--keep_traditional]
          Grounded questions computed from the chinese-poetry package (who wrote, recite, next line, which poem a
          line is from, a poet's biography, works and dynasty), several phrasings each, in simplified Chinese.
          Ambiguous facts (a title several poets of the anthologies used, a line continued differently elsewhere)
          are skipped. Every answer names what it is about (「《春晓》：春眠不觉晓…」). Questions about titles, poets
          and lines of the package outside the knowledge are answered 「我没有读过《…》。」 (--refusal_share: as many
          as this share of the single questions). Writes OUT, OUT.summary.json and, beside OUT,
          conversations.jsonl (2–4 turns, {"messages": [...]}, most of them follow-ups as people say them:
          「背一下」, 「他还写过什么」, 「下一句呢？」, 「第三句是什么？」; --conversation_share: as many as this share of the
          single questions, each at most --conversation_tokens GPT-2 tokens),
          heldout_paraphrase.jsonl (trained facts, phrasings never trained), heldout_unseen.jsonl (poems and poets
          kept out of the knowledge, asked as training asks, answered with a refusal), heldout_unread.jsonl
          (refusals about other poems and poets of the package), heldout_multiturn.jsonl (conversations ending in
          a heldout_paraphrase question), heldout_followup.jsonl (conversations ending in a follow-up worded as
          no training question is, per kind of reference: poem, poet, line, ordinal), inset.jsonl (training
          questions, as trained, about heldout_paraphrase's first facts: memorized vs reworded) and
          knowledge/poems.txt: the poems and biographies the training questions are about, as pretraining text.
          --poems anthologies (default): 唐诗三百首 + 宋词三百首 and their poets. --max_lines N: only poems of at most
          N lines (2 = quatrains, as the quickstart uses) and their poets. --next_lines_per_poem: lines of each
          poem asked for their next line, and as many for their poem (the first and last lines first; every line of
          the famous quatrains).
        usage: ./miniglm sft-data build --text PATH [PATH …] --out data/qa/text.jsonl [--encoding NAME] [--keep_traditional]
                 [--max_chars N] [--seed 1234] [--phrasings_per_fact 2] [--per_paragraph 2] [--max_answer_tokens 120]
                 [--block_size 256] [--heldout_fraction 0.05] [--heldout_per_type 50] [--conversation_share 0.2]
                 [--conversation_tokens 200] [--heldout_multiturn_per_type 25]
          Grounded questions computed from your own text files (files, folders of *.txt, globs), no teacher needed:
          chapter titles, numbers, next/previous and last chapter, how many (headings 第N回/章/篇/卷, Chapter N,
          # …, or a short title line followed by paragraphs), the author where a line states it (唐·王维, 作者：…,
          by …), the next and previous clause of a quoted one, which chapter it is from, a chapter's opening, and
          who said it (子曰：“…”, X曰/道/说/问：“…”, “…”X说, "…," said X). Chinese text is asked in Chinese, English
          text in English. A clause that occurs twice or a speaker that is not a clear name is skipped and counted.
          Each file's encoding is detected (UTF-8, UTF-16 with BOM, GB18030/GBK) and printed; --encoding forces
          one. Chinese text is converted to simplified (OpenCC, fetched if needed) unless --keep_traditional.
          --max_chars: use only the first N characters (whole chapters first). Writes the same files as the
          poetry build (held-out paragraphs are unseen sections), and knowledge/book.txt: the text for pretraining,
          held-out paragraphs left out.
        usage: ./miniglm sft-data build --templates FILE --entities FILE --teacher URL --model NAME --out FILE
                 [--api_key_env VAR] [--per_request 5] [--concurrency 2] [--timeout 120] [--retries 5]
                 [--temperature 0.5] [--prompt FILE] [--max_per_template N] [--seed 1234] [--no_swap]
          The seed's method: templates ({book} {ch1} {ch2} {plot}) filled from the entities file, answered by any
          OpenAI-compatible endpoint (URL like http://127.0.0.1:11434/v1), per_request questions per request. The
          API key is read from the environment variable named by --api_key_env. Every answer is appended to
          OUT.teacher-cache.jsonl as it arrives: after Ctrl-C or a failure, rerun the same command to ask the rest.
          Relation questions ({ch1}和{ch2}) are also written with the names swapped, as the seed did (--no_swap: not).
          Examples: examples/sft/templates.txt, examples/sft/entities.json.
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help") || cl.Positionals.Count != 1 || cl.Positionals[0] != "build")
        {
            Console.WriteLine(Usage);
            return cl.Has("help") ? 0 : 2;
        }
        var output = cl.Require("out", "the JSON Lines file to write, e.g. data/qa/poetry.jsonl");
        var kb = cl.Get("kb");
        if (cl.Has("text")) return kb is null && !cl.Has("templates") ? Text(cl, output)
            : throw new MiniGlmException("sft-data build: give one of --kb, --text or --templates, not several");
        if (kb is not null && cl.Has("templates"))
            throw new MiniGlmException("sft-data build: give either --kb or --templates/--entities/--teacher, not both");
        if (kb is not null) return kb == "chinese-poetry" ? Poetry(cl, output)
            : throw new MiniGlmException($"sft-data build: unknown knowledge base '{kb}' (known: chinese-poetry)");
        if (cl.Has("templates")) return Teacher(cl, output);
        throw new MiniGlmException("sft-data build: missing --kb chinese-poetry, --text PATH or --templates FILE --entities FILE --teacher URL --model NAME");
    }

    private static int Poetry(CommandLine cl, string output)
    {
        var package = cl.Get("package") ?? DataCommand.PoetryDir;
        var poems = cl.Get("poems") ?? "anthologies";
        var d = new PoetryQaOptions(); // the defaults
        var options = d with
        {
            AllPoems = poems switch
            {
                "anthologies" => false, "all" => true,
                _ => throw new MiniGlmException($"--poems expects anthologies or all, got {poems}"),
            },
            MaxLines = cl.Int("max_lines", d.MaxLines, min: 1),
            Seed = cl.Int("seed", d.Seed),
            MaxPerTemplate = cl.Int("max_per_template", d.MaxPerTemplate, min: 1),
            PhrasingsPerFact = cl.Int("phrasings_per_fact", d.PhrasingsPerFact, min: 1),
            NextLinesPerPoem = cl.Int("next_lines_per_poem", d.NextLinesPerPoem, min: 0),
            MaxAnswerTokens = cl.Int("max_answer_tokens", d.MaxAnswerTokens, min: 8),
            BlockSize = cl.Int("block_size", d.BlockSize, min: 8),
            HeldOutFraction = cl.Double("heldout_fraction", d.HeldOutFraction),
            HeldOutPerType = cl.Int("heldout_per_type", d.HeldOutPerType, min: 0),
            ConversationShare = cl.Double("conversation_share", d.ConversationShare),
            HeldOutMultiTurnPerType = cl.Int("heldout_multiturn_per_type", d.HeldOutMultiTurnPerType, min: 0),
            ConversationTokens = cl.Int("conversation_tokens", d.ConversationTokens, min: 8),
            HeldOutFollowUpPerReference = cl.Int("heldout_followup_per_reference", d.HeldOutFollowUpPerReference, min: 0),
            RefusalShare = cl.Double("refusal_share", d.RefusalShare),
        };
        if (options.RefusalShare < 0) throw new MiniGlmException($"--refusal_share must be 0 or more, got {options.RefusalShare}");
        CheckShares(options.ConversationShare, options.HeldOutFraction);
        bool keep = cl.Flag("keep_traditional");
        cl.RejectUnknown("sft-data");

        var clock = Stopwatch.StartNew();
        var converter = keep ? null : DataCommand.ToSimplified();
        var knowledge = PoetryKnowledgeBase.Load(package, converter);
        Console.WriteLine($"loaded {knowledge.Poems.Count:N0} poems from {package} in {clock.Elapsed.TotalSeconds:0.0} s");
        var tokenizer = TextTokenizer.Load(TokenizerSpec.Gpt2);
        var build = PoetryQuestions.Build(knowledge, options, text => tokenizer.Encode(text).Count);

        foreach (var (title, types) in build.Famous) Console.WriteLine($"  《{title}》: {types}");
        return Write(build, output, "poems.txt", $"chinese-poetry ({package}, poems: {poems})", clock);
    }

    private static void CheckShares(double conversationShare, double heldOutFraction)
    {
        if (conversationShare < 0) throw new MiniGlmException($"--conversation_share must be 0 or more, got {conversationShare}");
        if (heldOutFraction is < 0 or >= 1) throw new MiniGlmException($"--heldout_fraction must be in [0, 1), got {heldOutFraction}");
    }

    /// Writes a grounded build in its layout (OUT, the held-out sets and conversations beside it, knowledge/NAME)
    /// and reports it.
    private static int Write(QaBuild build, string output, string knowledgeName, string source, Stopwatch clock)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(output))!;
        QaWriter.Write(output, build.Train);
        QaWriter.Write(Path.Combine(dir, "heldout_paraphrase.jsonl"), build.HeldOutParaphrase);
        QaWriter.Write(Path.Combine(dir, "heldout_unseen.jsonl"), build.HeldOutUnseen);
        QaWriter.Write(Path.Combine(dir, "conversations.jsonl"), build.Conversations);
        QaWriter.Write(Path.Combine(dir, "heldout_multiturn.jsonl"), build.HeldOutMultiTurn);
        QaWriter.Write(Path.Combine(dir, "heldout_followup.jsonl"), build.HeldOutFollowUp);
        QaWriter.Write(Path.Combine(dir, "heldout_unread.jsonl"), build.HeldOutUnread);
        QaWriter.Write(Path.Combine(dir, "inset.jsonl"), build.InSet);
        AtomicFile.WriteAllText(Path.Combine(dir, "knowledge", knowledgeName), build.KnowledgeText);
        return Report(new SftDataSummary
        {
            Output = output, Source = source, Questions = build.Train.Count,
            PerType = SftDataSummary.Count(build.Train.Select(q => q.Type!)), PerTemplate = build.PerTemplate,
            HeldOutParaphrase = build.HeldOutParaphrase.Count, HeldOutUnseen = build.HeldOutUnseen.Count,
            Conversations = build.Conversations.Count, ConversationTurns = SftDataSummary.Count(build.Conversations.Select(c => $"{c.Turns.Count} turns")),
            HeldOutMultiTurn = build.HeldOutMultiTurn.Count, Famous = build.Famous.Count > 0 ? build.Famous : null,
            HeldOutFollowUp = build.HeldOutFollowUp.Count, HeldOutUnread = build.HeldOutUnread.Count,
            ConversationTypes = SftDataSummary.Count(build.Conversations.SelectMany(c => c.Turns.Skip(1)).Select(t => t.Type!)),
            Skipped = build.Skipped, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        });
    }

    private static int Text(CommandLine cl, string output)
    {
        var inputs = cl.Values("text");
        var d = new TextQaOptions();
        var options = d with
        {
            Seed = cl.Int("seed", d.Seed),
            PhrasingsPerFact = cl.Int("phrasings_per_fact", d.PhrasingsPerFact, min: 1),
            PerParagraph = cl.Int("per_paragraph", d.PerParagraph, min: 0),
            MaxAnswerTokens = cl.Int("max_answer_tokens", d.MaxAnswerTokens, min: 8),
            BlockSize = cl.Int("block_size", d.BlockSize, min: 8),
            HeldOutFraction = cl.Double("heldout_fraction", d.HeldOutFraction),
            HeldOutPerType = cl.Int("heldout_per_type", d.HeldOutPerType, min: 0),
            ConversationShare = cl.Double("conversation_share", d.ConversationShare),
            HeldOutMultiTurnPerType = cl.Int("heldout_multiturn_per_type", d.HeldOutMultiTurnPerType, min: 0),
            ConversationTokens = cl.Int("conversation_tokens", d.ConversationTokens, min: 8),
        };
        CheckShares(options.ConversationShare, options.HeldOutFraction);
        var encoding = cl.Get("encoding");
        long maxChars = cl.Get("max_chars") is null ? long.MaxValue : cl.Int("max_chars", 0, min: 1000);
        bool keep = cl.Flag("keep_traditional");
        cl.RejectUnknown("sft-data");

        var clock = Stopwatch.StartNew();
        Corpora.OpenCc? converter = null;
        Func<string, string>? convert = keep ? null
            : text => text.Any(TextBook.IsCjk) ? (converter ??= DataCommand.ToSimplified()).Convert(text) : text;
        var loaded = TextLibrary.Read(inputs, encoding, convert, maxChars, Console.WriteLine);
        if (loaded.UsedChars < loaded.TotalChars)
            Console.WriteLine($"used {loaded.UsedChars:N0} of {loaded.TotalChars:N0} characters ({100.0 * loaded.UsedChars / loaded.TotalChars:0} %): --max_chars {maxChars:N0}");
        var tokenizer = TextTokenizer.Load(TokenizerSpec.Gpt2);
        var build = TextQuestions.Build(loaded.Books, options, text => tokenizer.Encode(text).Count);
        const int least = 20;
        if (build.Train.Count < least)
            throw new MiniGlmException($"{string.Join(", ", inputs)}: too small to make questions from: {build.Train.Count} questions (at least {least} needed); give a longer text");

        return Write(build, output, "book.txt",
            $"text ({string.Join(", ", loaded.Books.Select(b => b.Name))}; {loaded.UsedChars:N0} of {loaded.TotalChars:N0} characters)", clock);
    }

    private static int Teacher(CommandLine cl, string output)
    {
        var templates = TemplateExpander.LoadTemplates(cl.Require("templates", "the question templates, one per line"));
        var books = BookEntities.Load(cl.Require("entities", "the entities JSON: {\"books\":[{\"name\",\"characters\",\"plots\"}]}"));
        var keyVar = cl.Get("api_key_env");
        var options = new TeacherOptions
        {
            Url = cl.Require("teacher", "the OpenAI-compatible API base, e.g. http://127.0.0.1:11434/v1"),
            Model = cl.Require("model", "the teacher model's name"),
            ApiKey = keyVar is null ? null : Environment.GetEnvironmentVariable(keyVar)
                ?? throw new MiniGlmException($"--api_key_env {keyVar}: that environment variable is not set"),
            Temperature = cl.Double("temperature", 0.5),
            Timeout = TimeSpan.FromSeconds(cl.Double("timeout", 120)),
            Retries = cl.Int("retries", 5, min: 0),
        };
        int perRequest = cl.Int("per_request", 5, min: 1), concurrency = cl.Int("concurrency", 2, min: 1);
        int maxPerTemplate = cl.Int("max_per_template", int.MaxValue, min: 1), seed = cl.Int("seed", 1234);
        var promptFile = cl.Get("prompt");
        var header = promptFile is null ? TeacherAnswers.SeedPrompt
            : File.Exists(promptFile) ? File.ReadAllText(promptFile) : throw new MiniGlmException($"{promptFile}: prompt file not found");
        bool swap = !cl.Flag("no_swap");
        cl.RejectUnknown("sft-data");

        var clock = Stopwatch.StartNew();
        var questions = TemplateExpander.Sample(TemplateExpander.Expand(templates, books), maxPerTemplate, seed);
        var cachePath = Path.ChangeExtension(output, null) + ".teacher-cache.jsonl";
        using var cache = new TeacherCache(cachePath, options.Model);
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan }; // each attempt has its own timeout
        var client = new TeacherClient(http, options);
        int missing = questions.Count(q => !cache.TryGet(q.Question, out _));
        Console.WriteLine($"{questions.Count} questions from {templates.Count(t => t.Length > 0)} templates and {books.Count} books; " +
                          $"{questions.Count - missing} already answered in {cachePath}, asking {options.Model} for {missing}");
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        TeacherRun run;
        try
        {
            run = TeacherAnswers.AnswerAsync(questions.Select(q => q.Question).ToList(), client, cache, perRequest, concurrency,
                header, got => Console.Error.Write($"\ranswered {got}/{missing}"), stop.Token).GetAwaiter().GetResult();
            Console.Error.WriteLine();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw new MiniGlmException($"interrupted; {cache.Count} answers are kept in {cachePath}: rerun the same command to continue");
        }
        finally { Console.CancelKeyPress -= onCancel; }

        var items = new List<QaPair>();
        foreach (var q in questions)
        {
            if (!cache.TryGet(q.Question, out var answer)) continue;
            items.Add(new QaPair(q.Question, answer, $"template:{q.Template}"));
            if (swap && TemplateExpander.Swapped(q, answer) is { } swapped) items.Add(swapped);
        }
        var shuffled = items.ToArray();
        new Random(seed).Shuffle(shuffled); // as the seed did; prepare-sft takes its val split from the end
        QaWriter.Write(output, shuffled);
        var dropped = new SortedDictionary<string, int>(run.Dropped, StringComparer.Ordinal);
        int unanswered = questions.Count(q => !cache.TryGet(q.Question, out _));
        if (unanswered > 0) Console.WriteLine($"{unanswered} questions have no answer yet: rerun the same command to ask them again");
        return Report(new SftDataSummary
        {
            Output = output, Source = $"teacher {options.Model} ({run.Requests} requests, {client.Retried} retried)",
            Questions = shuffled.Length, PerType = SftDataSummary.Count(shuffled.Select(q => q.Type!)),
            PerTemplate = SftDataSummary.Count(questions.Select(q => $"template:{q.Template}")),
            Skipped = unanswered > 0 ? new() { ["not answered yet"] = unanswered } : [], Dropped = dropped,
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        });
    }

    private static int Report(SftDataSummary s)
    {
        s.Write();
        Console.WriteLine($"wrote {s.Questions:N0} questions to {s.Output} in {s.Seconds:0.0} s" +
                          (s.HeldOutUnseen is { } u ? $"; held out: {s.HeldOutParaphrase} paraphrased, {u} unseen, {s.HeldOutUnread} unread, {s.HeldOutMultiTurn} multi-turn, {s.HeldOutFollowUp} follow-up (beside it)" : ""));
        if (s.Conversations is { } c) Console.WriteLine($"wrote {c:N0} conversations ({string.Join(", ", s.ConversationTurns.Select(t => $"{t.Value} of {t.Key}"))}) beside it");
        foreach (var (type, n) in s.PerType) Console.WriteLine($"  {type,-16} {n,7:N0}");
        if (s.ConversationTypes.Count > 0)
            Console.WriteLine($"  later turns of the conversations: {string.Join(", ", s.ConversationTypes.Select(t => $"{t.Key} {t.Value:N0}"))}");
        foreach (var (reason, n) in s.Skipped) Console.WriteLine($"  skipped: {reason}: {n:N0}");
        foreach (var (reason, n) in s.Dropped) Console.WriteLine($"  dropped: {reason}: {n:N0}");
        Console.WriteLine($"summary: {SftDataSummary.PathFor(s.Output)}");
        return 0;
    }
}
