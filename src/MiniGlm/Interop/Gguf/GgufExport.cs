using System.Diagnostics;
using MiniGlm.Checkpoints;
using MiniGlm.IO;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using static TorchSharp.torch;

namespace MiniGlm.Interop.Gguf;

public sealed record GgufExportResult(string Path, string Modelfile, long Bytes, int Tensors, string PreTokenizer, TimeSpan Elapsed, string Architecture = "gpt2");

/// A checkpoint as a GGUF file of llama.cpp's `gpt2` architecture, which is nanoGPT's model: learned positions,
/// pre-LayerNorm blocks, fused q/k/v, a 4× GELU MLP, the head tied to the token embedding (no `output` tensor, so
/// llama.cpp reuses token_embd). Weight matrices keep nanoGPT's Linear layout (out × in), which is ggml's.
///
/// llama.cpp's gpt2 requires every bias and norm bias: a model trained with bias=false gets zero biases, which
/// compute the same thing. It takes the vocabulary size from the token list, so token_embd is cut to the
/// tokenizer's ids (our padding to a multiple of 64 is dropped).
/// A llama checkpoint becomes llama.cpp's `llama` (or `qwen2`, with q/k/v biases) architecture: the tensors
/// convert_hf_to_gguf.py writes for LlamaForCausalLM / Qwen2ForCausalLM (<see cref="WriteLlama"/>).
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
            int tensors = WriteTensors(writer, model, Vocabulary(model.Config, tokenizer), fileType);
            try
            {
                AtomicFile.Write(outPath, tmp => { using var file = File.Create(tmp); writer.Write(file); });
                AtomicFile.WriteAllText(modelfile, ChatTemplateFormats.Modelfile(config.ChatTemplate, Path.GetFileName(outPath), model.Config.BlockSize));
            }
            catch (IOException e) { throw new MiniGlmException($"{outPath}: cannot write ({e.Message})", e); }
            return new GgufExportResult(outPath, modelfile, new FileInfo(outPath).Length, tensors, pre, clock.Elapsed, Architecture(model.Config));
        }
    }

    /// The rows of token_embd (and output) the file keeps: the tokenizer's ids, so our padding to a multiple of 64 is
    /// dropped; a model with rows beyond that padding (an imported Qwen2) keeps them all, named as unused tokens.
    private static int Vocabulary(GptConfig shape, TextTokenizer tokenizer) =>
        shape.VocabSize > GptConfig.PadVocab(tokenizer.VocabSize) ? shape.VocabSize : tokenizer.VocabSize;

    private const string HfLlama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// llama.cpp refuses a `tokenizer.ggml.pre` it does not know, so each of our patterns maps to a known one.
    /// GPT-2's is "gpt-2"; trained tokenizers' is llama 3's, "llama-bpe", exactly. Those trained before cut Han two
    /// characters at a time, which no llama.cpp pre-tokenizer does: they fall back to "llama-bpe", which takes whole
    /// Han runs and may merge across the two-character cuts (the same text, sometimes other ids; docs/formats.md).
    /// Imported tokenizers keep their tokenizer.json's regex: Llama 3's own spelling (`(?i:…)`) and Qwen2's (digits one at a time).
    public static string PreTokenizer(TokenizerSpec spec) => spec switch
    {
        { IsFile: false, Name: "gpt2" } => "gpt-2",
        { IsFile: true, Pattern: PreTokenPattern.Llama3 or PreTokenPattern.HanPairs or HfLlama3Pattern } => "llama-bpe",
        { IsFile: true, Pattern: Qwen2Pattern } => "qwen2",
        _ => throw new MiniGlmException($"tokenizer {spec}: its pre-tokenizer pattern has no llama.cpp equivalent, cannot export to GGUF"),
    };

    private static string WriteMetadata(GgufWriter w, GptConfig shape, TextTokenizer tokenizer, Generation.ChatTemplate? template, string name, GgufFileType fileType)
    {
        if (shape.VocabSize < tokenizer.VocabSize)
            throw new MiniGlmException($"the model has {shape.VocabSize} embedding rows but its tokenizer {tokenizer.Spec} has {tokenizer.VocabSize} ids");
        var arch = Architecture(shape);
        w.Add("general.architecture", arch);
        w.Add("general.name", name);
        w.Add("general.file_type", fileType.LlamaFileType);
        w.Add("general.quantization_version", 2u);
        w.Add($"{arch}.context_length", (uint)shape.BlockSize);
        w.Add($"{arch}.embedding_length", (uint)shape.NEmbd);
        w.Add($"{arch}.feed_forward_length", (uint)shape.MlpWidth);
        w.Add($"{arch}.block_count", (uint)shape.NLayer);
        w.Add($"{arch}.attention.head_count", (uint)shape.NHead);
        if (shape.IsLlama)
        {
            w.Add($"{arch}.attention.head_count_kv", (uint)shape.KvHeads);
            w.Add($"{arch}.attention.layer_norm_rms_epsilon", (float)shape.Eps);
            w.Add($"{arch}.rope.freq_base", (float)shape.RopeBase);
            w.Add($"{arch}.rope.dimension_count", (uint)shape.HeadSize);
        }
        else w.Add($"{arch}.attention.layer_norm_epsilon", (float)shape.Eps);

        var pre = PreTokenizer(tokenizer.Spec);
        var vocab = GgufVocab.From(tokenizer, Vocabulary(shape, tokenizer));
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

    /// llama.cpp's architecture for a model: gpt2; qwen2 for a llama with q/k/v biases (llama.cpp's qwen2 requires
    /// them, and rotates halves as we do); llama otherwise (which rotates interleaved pairs: see <see cref="Interleave"/>).
    public static string Architecture(GptConfig c) => !c.IsLlama ? "gpt2" : c.QkvBias ? "qwen2" : "llama";

    private sealed class Tensors(GgufWriter w, LanguageModel model, GgufFileType fileType)
    {
        private readonly Dictionary<string, Tensor> state = model.state_dict();
        public int Count { get; private set; }

        /// A tensor from the model (source null: zeros), the first shape[0] rows of it, optionally transformed.
        public void Add(string name, string? source, long[] shape, bool matrix, Func<Tensor, Tensor>? transform = null)
        {
            if (source is not null && !state.ContainsKey(source)) return;
            // Q8_0 needs rows of a multiple of 32; other shapes fall back to F16, as llama.cpp's converter does.
            var type = !matrix ? GgufTensorType.F32
                : fileType.MatrixType == GgufTensorType.Q8_0 && shape[^1] % GgufTensorData.Q8Block != 0 ? GgufTensorType.F16
                : fileType.MatrixType;
            w.AddTensor(name, shape, type, () => source is null ? new float[shape.Aggregate(1L, (a, b) => a * b)] : Values(state[source], shape[0], transform));
            Count++;
        }
    }

    private static int WriteTensors(GgufWriter w, LanguageModel model, int vocab, GgufFileType fileType)
    {
        var tensors = new Tensors(w, model, fileType);
        if (model.Config.IsLlama) WriteLlama(tensors, model.Config, vocab);
        else WriteGpt2(tensors, model.Config, vocab);
        return tensors.Count;
    }

    private static void WriteGpt2(Tensors t, GptConfig c, int vocab)
    {
        long e = c.NEmbd;
        void Add(string name, string? source, long[] shape, bool matrix) => t.Add(name, source, shape, matrix);
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
    }

    /// llama.cpp's llama/qwen2 tensors from transformers' names (convert_hf_to_gguf.py's mapping); lm_head.weight
    /// only when untied, absent q/k/v biases skipped.
    private static void WriteLlama(Tensors t, GptConfig c, int vocab)
    {
        long e = c.NEmbd, kv = (long)c.KvHeads * c.HeadSize, ff = c.MlpWidth;
        bool interleave = Architecture(c) == "llama";
        Func<Tensor, Tensor>? Rope(int heads) => interleave ? x => Interleave(x, heads) : null;
        t.Add("token_embd.weight", "model.embed_tokens.weight", [vocab, e], matrix: true);
        for (int i = 0; i < c.NLayer; i++)
        {
            var h = $"model.layers.{i}";
            var blk = $"blk.{i}";
            t.Add($"{blk}.attn_norm.weight", $"{h}.input_layernorm.weight", [e], false);
            t.Add($"{blk}.attn_q.weight", $"{h}.self_attn.q_proj.weight", [e, e], true, Rope(c.NHead));
            t.Add($"{blk}.attn_q.bias", $"{h}.self_attn.q_proj.bias", [e], false, Rope(c.NHead));
            t.Add($"{blk}.attn_k.weight", $"{h}.self_attn.k_proj.weight", [kv, e], true, Rope(c.KvHeads));
            t.Add($"{blk}.attn_k.bias", $"{h}.self_attn.k_proj.bias", [kv], false, Rope(c.KvHeads));
            t.Add($"{blk}.attn_v.weight", $"{h}.self_attn.v_proj.weight", [kv, e], true);
            t.Add($"{blk}.attn_v.bias", $"{h}.self_attn.v_proj.bias", [kv], false);
            t.Add($"{blk}.attn_output.weight", $"{h}.self_attn.o_proj.weight", [e, e], true);
            t.Add($"{blk}.ffn_norm.weight", $"{h}.post_attention_layernorm.weight", [e], false);
            t.Add($"{blk}.ffn_gate.weight", $"{h}.mlp.gate_proj.weight", [ff, e], true);
            t.Add($"{blk}.ffn_up.weight", $"{h}.mlp.up_proj.weight", [ff, e], true);
            t.Add($"{blk}.ffn_down.weight", $"{h}.mlp.down_proj.weight", [e, ff], true);
        }
        t.Add("output_norm.weight", "model.norm.weight", [e], false);
        t.Add("output.weight", "lm_head.weight", [vocab, e], true);
    }

    /// llama.cpp's llama rotates pairs of neighbours (2i, 2i+1) where transformers rotates the halves (i, i+d/2):
    /// the rows of each head of q and k are reordered to match (convert_hf_to_gguf.py's permute).
    public static Tensor Interleave(Tensor w, int heads)
    {
        var shape = w.shape;
        var rest = shape.Skip(1).ToArray();
        return w.reshape([heads, 2, shape[0] / heads / 2, .. rest]).swapaxes(1, 2).reshape(shape);
    }

    /// The first `rows` rows of a tensor as fp32 values (all of them but token_embd's padding).
    private static float[] Values(Tensor t, long rows, Func<Tensor, Tensor>? transform)
    {
        using var _ = NewDisposeScope();
        var x = transform is null ? t.detach() : transform(t.detach());
        return x.narrow(0, 0, rows).to(float32).contiguous().data<float>().ToArray();
    }
}
