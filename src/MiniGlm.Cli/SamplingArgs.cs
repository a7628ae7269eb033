using MiniGlm.Generation;
using MiniGlm.Model;

namespace MiniGlm.Cli;

/// The sampling options shared by sample, chat and bench, read from the command line (defaults: sample.py's).
public static class SamplingArgs
{
    /// The options' help (starting on a new line after the usage) with the defaults the command really uses (temperature: its own wording when the
    /// default depends on the checkpoint, as in chat).
    public static string Help(SamplingOptions defaults, InferenceDtype dtype = InferenceDtype.Int8, string? temperature = null) =>
        FormattableString.Invariant($"""

          --max_new_tokens N      tokens to generate per answer ({defaults.MaxNewTokens})
          --temperature T         0 = greedy ({temperature ?? defaults.Temperature.ToString(System.Globalization.CultureInfo.InvariantCulture)})
          --greedy                same as --temperature 0
          --top_k K               keep the K most likely tokens, 0 = off ({defaults.TopK})
          --top_p P               nucleus sampling, 1.0 = off ({defaults.TopP:0.0#})
          --repetition_penalty R  >1 discourages repeats, 1.0 = off ({defaults.RepetitionPenalty:0.0#})
          --seed S                same seed, same text ({defaults.Seed})
          --no_stop               keep generating past <|endoftext|>
          --dtype D               inference weights: int8 (~3× faster decoding than float32 on CPU), float32 (the
                                  exact trained numbers) or bfloat16 ({Name(dtype)})
        """);

    /// The dtype's name on the command line.
    public static string Name(InferenceDtype d) => d switch
    {
        InferenceDtype.Float32 => "float32", InferenceDtype.BFloat16 => "bfloat16", _ => "int8",
    };

    public static InferenceDtype Dtype(CommandLine cl, InferenceDtype fallback = InferenceDtype.Int8) =>
        cl.Get("dtype") is { } d ? ParseDtype(d) : fallback;

    public static InferenceDtype ParseDtype(string d) => d switch
    {
        "float32" or "fp32" => InferenceDtype.Float32,
        "bfloat16" or "bf16" => InferenceDtype.BFloat16,
        "int8" => InferenceDtype.Int8,
        _ => throw new MiniGlmException($"--dtype expects int8, float32 or bfloat16, got {d}"),
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
