using MiniGlm.Generation;

namespace MiniGlm.Cli;

/// The sampling options shared by sample, chat and bench, read from the command line (defaults: sample.py's).
public static class SamplingArgs
{
    public const string Help = """
          --max_new_tokens N      tokens to generate per sample (500)
          --temperature T         0 = greedy (0.8)
          --greedy                same as --temperature 0
          --top_k K               keep the K most likely tokens, 0 = off (200)
          --top_p P               nucleus sampling, 1.0 = off (1.0)
          --repetition_penalty R  >1 discourages repeats, 1.0 = off (1.0)
          --seed S                same seed, same text (1234)
          --no_stop               keep generating past <|endoftext|>
          --dtype D               float32 (default) or bfloat16 weights: bf16 decodes ~2× faster on CPU
        """;

    public static bool BFloat16(CommandLine cl) => (cl.Get("dtype") ?? "float32") switch
    {
        "float32" or "fp32" => false,
        "bfloat16" or "bf16" => true,
        var d => throw new MiniGlmException($"--dtype expects float32 or bfloat16, got {d}"),
    };

    public static SamplingOptions Read(CommandLine cl, SamplingOptions? defaults = null)
    {
        var d = defaults ?? new SamplingOptions();
        return new SamplingOptions
        {
            MaxNewTokens = cl.Int("max_new_tokens", d.MaxNewTokens),
            Temperature = cl.Flag("greedy") ? 0 : cl.Double("temperature", d.Temperature),
            TopK = cl.Int("top_k", d.TopK),
            TopP = cl.Double("top_p", d.TopP),
            RepetitionPenalty = cl.Double("repetition_penalty", d.RepetitionPenalty),
            Seed = cl.Int("seed", d.Seed),
            StopAtEndOfText = !cl.Flag("no_stop"),
        }.Validated();
    }
}
