using System.Diagnostics;
using MiniGlm.Generation;

namespace MiniGlm.Cli.Commands;

public static class ChatCommand
{
    private const string Usage = """
        usage: ./miniglm chat --ckpt DIR [sampling options]
          Chat in the terminal. An SFT checkpoint answers questions with its chat template; a pretrained one
          continues your text. A model trained on conversations sees the newest turns that fit its context; one
          trained on single questions answers each question on its own. An SFT model starts at temperature 0.3
          (a fact bot: its most likely answer); --temperature 0.8 is the seed's setting, as for a pretrained model.
          Ctrl-C stops an answer (a stopped answer stays on screen but is left out of what the model sees next);
          Ctrl-D or /quit leaves.
          Commands: /clear  /retry  /undo  /set key=value (temperature, top_k, top_p, max_new_tokens,
                    repetition_penalty, seed)  /quit
        """;

    public static int Run(CommandLine cl)
    {
        if (cl.Has("help"))
        {
            Console.WriteLine(Usage + SamplingArgs.Help(Defaults(null), temperature:
                FormattableString.Invariant($"{SamplingOptions.ChatTemperature} for an SFT model, {SamplingOptions.SeedTemperature} for a pretrained one")));
            return 0;
        }
        var ckpt = cl.Require("ckpt", "the checkpoint or run directory to chat with");
        SamplingArgs.Read(cl, Defaults(null)); // checks the flags before the model loads
        var dtype = SamplingArgs.Dtype(cl);
        cl.RejectUnknown("chat");

        using var model = LoadedModel.Load(ckpt, dtype);
        var options = SamplingArgs.Read(cl, Defaults(model.Config.ChatTemplate));
        var session = new ChatSession(model);
        var kind = session.Template is null ? "pretrained model — it continues your text"
            : session.MultiTurn ? "chat model, trained on conversations" : "chat model, trained on single questions — it answers each question on its own";
        Console.WriteLine($"{model.Path}: {kind}; temperature {options.Temperature}; /quit to leave");
        CancellationTokenSource? answering = null;
        Console.CancelKeyPress += (_, e) =>
        {
            if (answering is null) return; // at the prompt, Ctrl-C leaves as usual
            e.Cancel = true;
            answering.Cancel();
        };

        while (true)
        {
            Console.Write("\n> ");
            var line = Console.ReadLine();
            if (line is null || line.Trim() == "/quit") return 0;
            line = line.Trim();
            if (line.Length == 0) continue;
            using var cts = new CancellationTokenSource();
            IEnumerable<string> stream;
            switch (line.Split(' ', 2)[0])
            {
                case "/clear": session.Clear(); Console.WriteLine("(history cleared)"); continue;
                case "/undo": Console.WriteLine(session.Undo() ? "(last exchange removed)" : "(nothing to undo)"); continue;
                case "/set":
                    try { options = Set(options, line.Length > 5 ? line[5..] : ""); Console.WriteLine($"({Describe(options)})"); }
                    catch (MiniGlmException e) { Console.WriteLine($"error: {e.Message}"); }
                    continue;
                case "/retry":
                    if (session.Turns.Count == 0) { Console.WriteLine("(nothing to retry)"); continue; }
                    options = options with { Seed = options.Seed + 1 }; // a retry should not repeat the same text
                    stream = session.Retry(options, cts.Token);
                    break;
                default:
                    if (line.StartsWith('/')) { Console.WriteLine("(commands: /clear /retry /undo /set key=value /quit)"); continue; }
                    stream = session.Send(line, options, cts.Token);
                    break;
            }
            answering = cts;
            var clock = Stopwatch.StartNew();
            foreach (var piece in stream) Console.Write(piece);
            answering = null;
            double seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine();
            Console.WriteLine($"[{session.LastAnswerTokens} tokens in {seconds:F1}s, {session.LastAnswerTokens / seconds:F1} tokens/s" +
                              $"{(session.Turns[^1].Cut ? "; stopped: this answer is cut, so the model will not see it again (/retry asks anew)" : "")}]");
        }
    }

    private static SamplingOptions Defaults(ChatTemplate? template) => SamplingOptions.For(template) with { MaxNewTokens = 256 };

    private static SamplingOptions Set(SamplingOptions o, string assignment)
    {
        var parts = assignment.Split('=', 2, StringSplitOptions.TrimEntries);
        if (parts.Length != 2) throw new MiniGlmException("usage: /set key=value, e.g. /set temperature=0.7");
        var cl = new CommandLine([$"--{parts[0]}={parts[1]}"]);
        var updated = SamplingArgs.Read(cl, o);
        cl.RejectUnknown("chat /set");
        return updated;
    }

    private static string Describe(SamplingOptions o) =>
        $"temperature={o.Temperature} top_k={o.TopK} top_p={o.TopP} repetition_penalty={o.RepetitionPenalty} max_new_tokens={o.MaxNewTokens} seed={o.Seed}";
}
