using System.Diagnostics;
using System.Globalization;
using MiniGlm.Checkpoints;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// Real PyTorch (and jinja2) read our exports: torch.load, then nanoGPT's forward written out in plain torch ops. Needs a
/// Python with torch (Debian 12: `apt-get install python3-torch`, used by /usr/bin/python3); skipped without one.
public class PythonReadsExportTests
{
    private const string Forward = """
        import sys, math, json, struct, torch, torch.nn.functional as F
        hf = sys.argv[3] == 'hf'
        if hf:  # a GPT2LMHeadModel directory: safetensors read by hand (torch 1.13 has no reader), Conv1D = x @ W + b
            a = json.load(open(sys.argv[1] + '/config.json'))
            a = dict(a, block_size=a['n_positions'])
            raw = open(sys.argv[1] + '/model.safetensors', 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n])
            assert header.pop('__metadata__') == {'format': 'pt'}
            sd = {k: torch.frombuffer(bytearray(raw[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]]), dtype=torch.float32).view(v['shape'])
                  for k, v in header.items()}
            sd['lm_head.weight'] = sd['transformer.wte.weight']
            ck = {'iter_num': 1, 'optimizer': {'param_groups': [0, 0]}}
        else:
            ck = torch.load(sys.argv[1], map_location='cpu')
            a, sd = ck['model_args'], ck['model']
            assert sd['lm_head.weight'].data_ptr() == sd['transformer.wte.weight'].data_ptr(), 'lm_head not tied'
        ids = torch.tensor([[int(t) for t in sys.argv[2].split(',')]])
        T, C, H = ids.shape[1], a['n_embd'], a['n_head']
        def ln(x, p): return F.layer_norm(x, (C,), sd[p + '.weight'], sd.get(p + '.bias'), 1e-5)
        def lin(x, p): return x @ sd[p + '.weight'] + sd[p + '.bias'] if hf else F.linear(x, sd[p + '.weight'], sd.get(p + '.bias'))
        x = sd['transformer.wte.weight'][ids] + sd['transformer.wpe.weight'][:T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        for i in range(a['n_layer']):
            p = f'transformer.h.{i}.'
            q, k, v = lin(ln(x, p + 'ln_1'), p + 'attn.c_attn').split(C, dim=2)
            q, k, v = [t.view(1, T, H, C // H).transpose(1, 2) for t in (q, k, v)]
            att = (q @ k.transpose(-2, -1) / math.sqrt(C // H)).masked_fill(~mask, float('-inf')).softmax(-1)
            x = x + lin((att @ v).transpose(1, 2).reshape(1, T, C), p + 'attn.c_proj')
            x = x + lin(F.gelu(lin(ln(x, p + 'ln_2'), p + 'mlp.c_fc')), p + 'mlp.c_proj')
        logits = F.linear(ln(x, 'transformer.ln_f'), sd['lm_head.weight'])
        print(ck['iter_num'], len(ck['optimizer']['param_groups']))
        print(' '.join(repr(v) for v in logits[0, -1].tolist()))
        """;

    /// nanoGPT: torch.load reads the ckpt.pt. hf: the safetensors, with HF's Conv1D (x @ W + b) and zero biases.
    [SkippableTheory]
    [InlineData("nanogpt", "nano", "nano/ckpt.pt")]
    [InlineData("hf", "hf", "hf")]
    public void PyTorch_reads_our_export_and_gives_our_logits(string format, string outDir, string path)
    {
        Skip.IfNot(HasTorch(), "no Python with torch (/usr/bin/python3 -c 'import torch' fails); apt-get install python3-torch to run this");
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        Assert.Equal(0, Cli.Run("export", "--ckpt", ckpt, "--format", format, "--out", tmp[outDir]).Code);
        long[] ids = [464, 3290, 318, 257, 1332, 13, 50256, 11];
        var (code, output) = Python(tmp.Write("forward.py", Forward), tmp[path], string.Join(",", ids), format);
        Assert.True(code == 0, output);
        var lines = output.Trim().Split('\n');
        Assert.Equal("1 2", lines[0]); // iter_num, nanoGPT's two AdamW parameter groups
        var theirs = lines[1].Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();

        var (model, _) = CheckpointStore.LoadModel(ckpt);
        using (model) using (var _ = no_grad()) using (var scope = NewDisposeScope())
        {
            model.eval();
            var ours = model.call(tensor(ids).view(1, -1))[0, -1];
            Assert.True((ours - tensor(theirs)).abs().max().item<float>() < 1e-4f);
        }
    }

    /// transformers renders chat_template with jinja2 in a sandbox (trim_blocks, lstrip_blocks): ours must give
    /// the text our ChatTemplate encodes.
    [SkippableFact]
    public void Jinja2_renders_the_exported_chat_template_as_our_chat_does()
    {
        Skip.IfNot(File.Exists("/usr/bin/python3") && Python("-c", "import jinja2").Code == 0, "no jinja2 for /usr/bin/python3 (apt-get install python3-jinja2)");
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"], Generation.ChatTemplate.Seed);
        Assert.Equal(0, Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", tmp["hf"]).Code);
        const string Render = """
            import json, sys
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            cfg = json.load(open(sys.argv[1]))
            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=['jinja2.ext.loopcontrols'])
            messages = [{'role': 'user', 'content': '静夜思是谁写的？'}, {'role': 'assistant', 'content': '李白'}, {'role': 'user', 'content': '再来一首'}]
            sys.stdout.buffer.write(env.from_string(cfg['chat_template']).render(messages=messages, add_generation_prompt=True, eos_token=cfg['eos_token']).encode())
            """;
        var (code, output) = Python(tmp.Write("render.py", Render), tmp["hf/tokenizer_config.json"]);
        Assert.True(code == 0, output);
        var tok = Tokenization.TextTokenizer.Load(Tokenization.TokenizerSpec.Gpt2);
        var ours = Generation.ChatTemplate.Seed.Render(tok, [("静夜思是谁写的？", "李白"), ("再来一首", null)]);
        Assert.Equal("问：静夜思是谁写的？\n答：李白<|endoftext|>问：再来一首\n答：", output);
        Assert.Equal(tok.Decode(ours), output.Replace("<|endoftext|>", ""));
    }

    private static bool HasTorch() => File.Exists("/usr/bin/python3") && Python("-c", "import torch").Code == 0;

    private static (int Code, string Output) Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8 };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result + stderr);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}
