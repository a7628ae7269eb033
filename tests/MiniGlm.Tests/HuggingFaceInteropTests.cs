using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MiniGlm.Checkpoints;
using MiniGlm.Interop.HuggingFace;
using MiniGlm.Model;
using MiniGlm.Tokenization;
using MiniGlm.Training;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// The Hugging Face GPT-2 directory (transformers is not installable here: checked by round trip, by HF's
/// algorithms replayed on our files, and by PyTorch in PythonReadsExportTests).
public class HuggingFaceInteropTests
{
    private const string Text = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\nThe moon is bright tonight; isn't it? 1234 apples.\n";

    [Fact]
    public void Export_then_import_gives_identical_logits_and_the_same_gpt2_tokenizer()
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        var (code, _, err) = Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]);
        Assert.True(code == 0, err);
        var config = JsonNode.Parse(File.ReadAllText(tmp["hf/config.json"]))!;
        Assert.Equal("GPT2LMHeadModel", config["architectures"]![0]!.GetValue<string>());
        Assert.Equal("gelu", config["activation_function"]!.GetValue<string>());
        Assert.Equal(32, config["n_positions"]!.GetValue<int>());
        Assert.Equal(50256, config["eos_token_id"]!.GetValue<int>());

        // HF's layout: Conv1D weights [in, out] (our Linear transposed), a bias for every layer (zeros: bias-free model).
        var weights = Safetensors.LoadStateDict(tmp["hf/model.safetensors"]);
        var (model, _) = CheckpointStore.LoadModel(ckpt);
        using (model)
        {
            var ours = model.state_dict();
            Assert.Equal([32, 96], weights["transformer.h.0.attn.c_attn.weight"].shape);
            Assert.Equal(0f, (weights["transformer.h.1.mlp.c_fc.weight"] - ours["transformer.h.1.mlp.c_fc.weight"].t()).abs().max().item<float>());
            Assert.Equal([96], weights["transformer.h.0.attn.c_attn.bias"].shape);
            Assert.Equal(0, weights["transformer.h.0.ln_1.bias"].count_nonzero().item<long>());
            Assert.DoesNotContain("lm_head.weight", weights.Keys);
        }
        foreach (var t in weights.Values) t.Dispose();

        (code, _, err) = Cli.Run("import", "--from", "hf", tmp["hf"], "--out", tmp["back"]);
        Assert.True(code == 0, err);
        NanoGptInteropTests.AssertSameLogits(ckpt, tmp["back"]);
        var back = CheckpointStore.ReadConfig(tmp["back"]);
        Assert.Equal(TokenizerSpec.Gpt2, back.Tokenizer);
        Assert.False(back.Model.Bias);
    }

    [Fact]
    public void A_trained_tokenizer_travels_as_tokenizer_json_whose_merges_give_our_ids()
    {
        using var tmp = new TempDir();
        tmp.Write("corpus/poems.txt", string.Concat(Enumerable.Repeat(Text, 20)));
        Assert.Equal(0, Cli.Run("tokenizer", "train", "--input", tmp["corpus"], "--vocab_size", "300", "--out", tmp["tok.tiktoken"]).Code);
        var tok = TextTokenizer.FromFile(tmp["tok.tiktoken"]);
        manual_seed(5);
        using (var model = new GptModel(new GptConfig { NLayer = 1, NHead = 2, NEmbd = 16, BlockSize = 16, VocabSize = GptConfig.PadVocab(tok.VocabSize) }))
            CheckpointStore.Save(tmp["ckpt"], model, new CheckpointConfig { Model = model.Config, Tokenizer = tok.Spec, Train = new TrainConfig() }, new TrainerState(), null);
        Assert.Equal(0, Cli.Run("export", "--ckpt", tmp["ckpt"], "--format", "hf", "--out", tmp["hf"]).Code);

        // HF's BPE on our tokenizer.json: Split by the regex, bytes as GPT-2's alphabet, merges by priority.
        using var doc = JsonDocument.Parse(File.ReadAllText(tmp["hf/tokenizer.json"]));
        var model_ = doc.RootElement.GetProperty("model");
        var vocab = model_.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        var priority = model_.GetProperty("merges").EnumerateArray().Select((m, i) => (m.GetString()!, i)).ToDictionary(x => x.Item1, x => x.i);
        var split = doc.RootElement.GetProperty("pre_tokenizer").GetProperty("pretokenizers")[0].GetProperty("pattern").GetProperty("Regex").GetString()!;
        var pattern = new Regex(HfTokenizer.FromOniguruma(split));
        var ids = new List<int>();
        foreach (Match piece in pattern.Matches(Text))
        {
            var parts = ByteLevelAlphabet.Encode(System.Text.Encoding.UTF8.GetBytes(piece.Value)).Select(c => c.ToString()).ToList();
            while (true)
            {
                var best = Enumerable.Range(0, parts.Count - 1).Select(i => (i, p: priority.GetValueOrDefault(parts[i] + " " + parts[i + 1], int.MaxValue)))
                    .DefaultIfEmpty((i: -1, p: int.MaxValue)).MinBy(x => x.p);
                if (best.p == int.MaxValue) break;
                parts[best.i] += parts[best.i + 1];
                parts.RemoveAt(best.i + 1);
            }
            ids.AddRange(parts.Select(p => vocab[p]));
        }
        Assert.Equal(tok.Encode(Text), ids);

        var tokConfig = JsonNode.Parse(File.ReadAllText(tmp["hf/tokenizer_config.json"]))!;
        Assert.Contains("'问：'", tokConfig["chat_template"]!.GetValue<string>());
        Assert.Equal(0, Cli.Run("import", "--from", "hf", tmp["hf"], "--out", tmp["back"]).Code);
        Assert.Equal(tok.Spec, CheckpointStore.ReadConfig(tmp["back"]).Tokenizer);
        NanoGptInteropTests.AssertSameLogits(tmp["ckpt"], tmp["back"]);
    }

    [Theory]
    [InlineData("hf", "hf")]
    [InlineData("nanogpt", "nano.pt")]
    public void A_model_with_biases_keeps_them(string format, string output)
    {
        using var tmp = new TempDir();
        manual_seed(7);
        using (var model = new GptModel(new GptConfig { NLayer = 1, NHead = 2, NEmbd = 16, BlockSize = 8, VocabSize = 50304, Bias = true }))
        {
            using (no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (name.EndsWith(".bias")) p.normal_(0, 0.1);
            CheckpointStore.Save(tmp["ckpt"], model, new CheckpointConfig { Model = model.Config, Tokenizer = TokenizerSpec.Gpt2, Train = new TrainConfig() }, new TrainerState(), null);
        }
        Assert.Equal(0, Cli.Run("export", "--ckpt", tmp["ckpt"], "--format", format, "--out", tmp[output]).Code);
        Assert.Equal(0, Cli.Run("import", "--from", format, tmp[output], "--out", tmp["back"]).Code);
        Assert.True(CheckpointStore.ReadConfig(tmp["back"]).Model.Bias);
        NanoGptInteropTests.AssertSameLogits(tmp["ckpt"], tmp["back"]);
    }

    [Theory]
    [InlineData("mistral", "model_type 'mistral' (MistralForCausalLM) is not read; GPT2LMHeadModel, LlamaForCausalLM and Qwen2ForCausalLM are")]
    [InlineData("missing", "tensor 'transformer.h.1.mlp.c_proj.weight' is missing")]
    [InlineData("shape", "tensor 'transformer.wpe.weight' has shape [8,32], the model expects [32,32]")]
    [InlineData("no-tokenizer", "no tokenizer.json or vocab.json; pass --tokenizer")]
    public void Bad_directories_are_one_line_errors(string damage, string message)
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        Assert.Equal(0, Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]).Code);
        var weightsPath = tmp["hf/model.safetensors"];
        var configPath = tmp["hf/config.json"];
        var weights = Safetensors.LoadStateDict(weightsPath);
        switch (damage)
        {
            case "mistral":
                var c = JsonNode.Parse(File.ReadAllText(configPath))!;
                c["model_type"] = "mistral";
                c["architectures"] = new JsonArray("MistralForCausalLM");
                File.WriteAllText(configPath, c.ToJsonString());
                break;
            case "missing": weights.Remove("transformer.h.1.mlp.c_proj.weight"); break;
            case "shape": weights["transformer.wpe.weight"] = zeros(8, 32); break;
            case "no-tokenizer": File.Delete(tmp["hf/tokenizer.json"]); break;
        }
        SafetensorsWriter.Write(weightsPath, weights.Select(kv => (kv.Key, kv.Value)).ToList());
        var (code, _, err) = Cli.Run("import", "--from", "hf", tmp["hf"], "--out", tmp["out"]);
        Assert.Equal(1, code);
        Assert.Contains(message, err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.False(Directory.Exists(tmp["out"]));
    }

    [Fact]
    public void An_existing_output_directory_is_kept_without_force()
    {
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        tmp.Write("hf/keep.txt", "mine");
        var (code, _, err) = Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]);
        Assert.Equal(1, code);
        Assert.Contains("already exists; pass --force", err);
        Assert.True(File.Exists(tmp["hf/keep.txt"]));
        // --force replaces only a directory of the export's own files (OutputSafetyTests).
        (code, _, err) = Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"], "--force");
        Assert.Equal(1, code);
        Assert.Contains("holds 'keep.txt'", err);
        Assert.True(File.Exists(tmp["hf/keep.txt"]));
    }
}
