using System.Diagnostics;
using MiniGlm.Checkpoints;
using MiniGlm.IO;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using static TorchSharp.torch;

namespace MiniGlm.Interop.Gguf;

public sealed record GgufExportResult(string Path, string Modelfile, long Bytes, int Tensors, string PreTokenizer, TimeSpan Elapsed);

/// A checkpoint as a GGUF file of llama.cpp's `gpt2` architecture, which is nanoGPT's model: learned positions,
/// pre-LayerNorm blocks, fused q/k/v, a 4× GELU MLP, the head tied to the token embedding (no `output` tensor, so
/// llama.cpp reuses token_embd). Weight matrices keep nanoGPT's Linear layout (out × in), which is ggml's.
///
/// llama.cpp's gpt2 requires every bias and norm bias: a model trained with bias=false gets zero biases, which
/// compute the same thing. It takes the vocabulary size from the token list, so token_embd is cut to the
/// tokenizer's ids (our padding to a multiple of 64 is dropped).
/// Beside the file goes an Ollama Modelfile (NAME.Modelfile for NAME.gguf) with the same chat layout as the file's
/// Jinja template (both from <see cref="ChatTemplateFormats"/>).
public static class GgufExport
{
    /// The Modelfile written beside a .gguf file.
    public static string ModelfilePath(string ggufPath) => Path.ChangeExtension(ggufPath, ".Modelfile");

    public static GgufExportResult Run(string ckpt, string outPath, GgufFileType fileType, bool force)
    {
        if (Directory.Exists(outPath)) throw new MiniGlmException($"{outPath}: is a directory; --out names the .gguf file to write");
        var modelfile = ModelfilePath(outPath);
        foreach (var path in new[] { outPath, modelfile })
            if (File.Exists(path) && !force) throw new MiniGlmException($"{path}: already exists (pass --force to overwrite it)");
        var clock = Stopwatch.StartNew();
        var dir = CheckpointStore.Resolve(ckpt);
        var (model, config) = CheckpointStore.LoadModel(dir, dropout: 0);
        using (model)
        {
            var tokenizer = TextTokenizer.Load(config.Tokenizer);
            var writer = new GgufWriter();
            var pre = WriteMetadata(writer, model.Config, tokenizer, config.ChatTemplate, Path.GetFileNameWithoutExtension(outPath), fileType);
            int tensors = WriteTensors(writer, model, tokenizer.VocabSize, fileType);
            try
            {
                AtomicFile.Write(outPath, tmp => { using var file = File.Create(tmp); writer.Write(file); });
                AtomicFile.WriteAllText(modelfile, ChatTemplateFormats.Modelfile(config.ChatTemplate, Path.GetFileName(outPath), model.Config.BlockSize));
            }
            catch (IOException e) { throw new MiniGlmException($"{outPath}: cannot write ({e.Message})", e); }
            return new GgufExportResult(outPath, modelfile, new FileInfo(outPath).Length, tensors, pre, clock.Elapsed);
        }
    }

    /// llama.cpp refuses a `tokenizer.ggml.pre` it does not know, so each of our patterns maps to a known one.
    /// GPT-2's is "gpt-2"; trained tokenizers' is llama 3's, "llama-bpe", exactly. Those trained before cut Han two
    /// characters at a time, which no llama.cpp pre-tokenizer does: they fall back to "llama-bpe", which takes whole
    /// Han runs and may merge across the two-character cuts (the same text, sometimes other ids; docs/formats.md).
    public static string PreTokenizer(TokenizerSpec spec) => spec switch
    {
        { IsFile: false, Name: "gpt2" } => "gpt-2",
        { IsFile: true, Pattern: PreTokenPattern.Llama3 or PreTokenPattern.HanPairs } => "llama-bpe",
        _ => throw new MiniGlmException($"tokenizer {spec}: its pre-tokenizer pattern has no llama.cpp equivalent, cannot export to GGUF"),
    };

    private static string WriteMetadata(GgufWriter w, GptConfig shape, TextTokenizer tokenizer, Generation.ChatTemplate? template, string name, GgufFileType fileType)
    {
        if (shape.VocabSize < tokenizer.VocabSize)
            throw new MiniGlmException($"the model has {shape.VocabSize} embedding rows but its tokenizer {tokenizer.Spec} has {tokenizer.VocabSize} ids");
        const string arch = "gpt2";
        w.Add("general.architecture", arch);
        w.Add("general.name", name);
        w.Add("general.file_type", fileType.LlamaFileType);
        w.Add("general.quantization_version", 2u);
        w.Add($"{arch}.context_length", (uint)shape.BlockSize);
        w.Add($"{arch}.embedding_length", (uint)shape.NEmbd);
        w.Add($"{arch}.feed_forward_length", (uint)(4 * shape.NEmbd));
        w.Add($"{arch}.block_count", (uint)shape.NLayer);
        w.Add($"{arch}.attention.head_count", (uint)shape.NHead);
        w.Add($"{arch}.attention.layer_norm_epsilon", (float)GptModel.LayerNormEps);

        var pre = PreTokenizer(tokenizer.Spec);
        var vocab = GgufVocab.From(tokenizer);
        w.Add("tokenizer.ggml.model", "gpt2");
        w.Add("tokenizer.ggml.pre", pre);
        w.Add("tokenizer.ggml.tokens", vocab.Tokens);
        w.Add("tokenizer.ggml.token_type", vocab.TokenTypes);
        w.Add("tokenizer.ggml.merges", vocab.Merges);
        w.Add("tokenizer.ggml.bos_token_id", (uint)tokenizer.EotId);
        w.Add("tokenizer.ggml.eos_token_id", (uint)tokenizer.EotId);
        // Our models never saw a BOS in front of a prompt ("llama-bpe" would add one by default).
        w.Add("tokenizer.ggml.add_bos_token", false);
        if (template is not null) w.Add("tokenizer.chat_template", ChatTemplateFormats.Jinja(template));
        return pre;
    }

    private static int WriteTensors(GgufWriter w, GptModel model, int vocab, GgufFileType fileType)
    {
        var state = model.state_dict();
        var c = model.Config;
        long e = c.NEmbd;
        int count = 0;
        void Add(string name, string? source, long[] shape, bool matrix)
        {
            // Q8_0 needs rows of a multiple of 32; other shapes fall back to F16, as llama.cpp's converter does.
            var type = !matrix ? GgufTensorType.F32
                : fileType.MatrixType == GgufTensorType.Q8_0 && shape[^1] % GgufTensorData.Q8Block != 0 ? GgufTensorType.F16
                : fileType.MatrixType;
            w.AddTensor(name, shape, type, () => source is null ? new float[shape.Aggregate(1L, (a, b) => a * b)] : Values(state[source], shape[0]));
            count++;
        }
        string? Bias(string prefix) => c.Bias ? prefix + ".bias" : null;

        Add("token_embd.weight", "transformer.wte.weight", [vocab, e], matrix: true);
        Add("position_embd.weight", "transformer.wpe.weight", [c.BlockSize, e], matrix: false);
        for (int i = 0; i < c.NLayer; i++)
        {
            var h = $"transformer.h.{i}";
            var blk = $"blk.{i}";
            Add($"{blk}.attn_norm.weight", $"{h}.ln_1.weight", [e], false);
            Add($"{blk}.attn_norm.bias", Bias($"{h}.ln_1"), [e], false);
            Add($"{blk}.attn_qkv.weight", $"{h}.attn.c_attn.weight", [3 * e, e], true);
            Add($"{blk}.attn_qkv.bias", Bias($"{h}.attn.c_attn"), [3 * e], false);
            Add($"{blk}.attn_output.weight", $"{h}.attn.c_proj.weight", [e, e], true);
            Add($"{blk}.attn_output.bias", Bias($"{h}.attn.c_proj"), [e], false);
            Add($"{blk}.ffn_norm.weight", $"{h}.ln_2.weight", [e], false);
            Add($"{blk}.ffn_norm.bias", Bias($"{h}.ln_2"), [e], false);
            Add($"{blk}.ffn_up.weight", $"{h}.mlp.c_fc.weight", [4 * e, e], true);
            Add($"{blk}.ffn_up.bias", Bias($"{h}.mlp.c_fc"), [4 * e], false);
            Add($"{blk}.ffn_down.weight", $"{h}.mlp.c_proj.weight", [e, 4 * e], true);
            Add($"{blk}.ffn_down.bias", Bias($"{h}.mlp.c_proj"), [e], false);
        }
        Add("output_norm.weight", "transformer.ln_f.weight", [e], false);
        Add("output_norm.bias", Bias("transformer.ln_f"), [e], false);
        return count;
    }

    /// The first `rows` rows of a tensor as fp32 values (all of them but token_embd's padding).
    private static float[] Values(Tensor t, long rows)
    {
        using var _ = NewDisposeScope();
        return t.detach().narrow(0, 0, rows).to(float32).contiguous().data<float>().ToArray();
    }
}
