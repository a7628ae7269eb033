using System.Globalization;
using MiniGlm.Checkpoints;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// Real PyTorch reads our exports: torch.load, then nanoGPT's forward written out in plain torch ops. Needs a Python
/// with torch (Debian: `apt-get install python3-torch`, used by /usr/bin/python3; test.sh installs it as root); an
/// outside check (OutsideCheck): skipped without one, failed in CI.
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
        OutsideCheck.Require("python3-torch", ExternalProcess.Python("-c", "import torch").Code == 0,
            "no Python with torch (/usr/bin/python3 -c 'import torch' fails); apt-get install python3-torch libopenblas0-pthread");
        using var tmp = new TempDir();
        var ckpt = TinyCheckpoint.Create(tmp["ckpt"]);
        Assert.Equal(0, Cli.Run("export", "--ckpt", ckpt, "--format", format, "--out", tmp[outDir]).Code);
        long[] ids = [464, 3290, 318, 257, 1332, 13, 50256, 11];
        var (code, output, error) = ExternalProcess.Python(tmp.Write("forward.py", Forward), tmp[path], string.Join(",", ids), format);
        Assert.True(code == 0, error);
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
}
