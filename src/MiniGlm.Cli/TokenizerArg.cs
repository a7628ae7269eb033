using MiniGlm.Checkpoints;
using MiniGlm.Data;
using MiniGlm.Interop.NanoGpt;
using MiniGlm.Tokenization;

namespace MiniGlm.Cli;

/// The `--tokenizer` option: `gpt2` (the default), a trained rank file (tokenizer train's output), or a prepared
/// dataset or checkpoint whose tokenizer to use (so SFT data is encoded as the pretrained model expects), or
/// nanoGPT's character-level meta.pkl.
public static class TokenizerArg
{
    public const string Help = "gpt2 (default), a .tiktoken file from ./miniglm tokenizer train, nanoGPT's character-level meta.pkl, or a dataset or checkpoint directory to take it from";

    public static TextTokenizer Load(string? arg)
    {
        if (arg is null or "gpt2") return TextTokenizer.Load(TokenizerSpec.Gpt2);
        if (File.Exists(arg) && arg.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase)) return TextTokenizer.Load(NanoGptMeta.Read(arg));
        if (File.Exists(arg)) return TextTokenizer.FromFile(arg);
        if (!Directory.Exists(arg)) throw new MiniGlmException($"--tokenizer {arg}: no such file or directory ({Help})");
        if (File.Exists(Path.Combine(arg, DatasetMeta.FileName))) return TextTokenizer.Load(DatasetMeta.Load(arg).Tokenizer);
        return TextTokenizer.Load(CheckpointStore.ReadConfig(CheckpointStore.Resolve(arg)).Tokenizer);
    }
}
