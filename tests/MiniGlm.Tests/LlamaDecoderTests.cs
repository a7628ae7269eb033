using MiniGlm.Decoding;
using MiniGlm.Model;
using static TorchSharp.torch;

namespace MiniGlm.Tests;

/// The decoder's llama path (rotary positions at each row's own position, the KV cache holding n_kv_head heads,
/// stacked q|k|v and gate|up) follows the modules in every dtype; and the modules' packed forward (positions
/// restarting per document, a block mask) equals each document alone, as SFT batches need.
public class LlamaDecoderTests
{
    private static LlamaModel Model()
    {
        manual_seed(7);
        var model = (LlamaModel)LanguageModel.Create(new GptConfig
        {
            Arch = "llama", NLayer = 2, NHead = 6, NKvHead = 2, NEmbd = 48, IntermediateSize = 72, BlockSize = 40, VocabSize = 333,
            RopeTheta = 5e5, NormEps = 1e-6, QkvBias = true, UntiedHead = true,
        });
        using (no_grad()) foreach (var (name, p) in model.named_parameters()) if (name.EndsWith(".bias")) p.normal_(0, 0.1);
        model.eval();
        return model;
    }

    [Theory]
    [InlineData(InferenceDtype.Float32, 1e-5)]
    [InlineData(InferenceDtype.BFloat16, 0.02)]
    [InlineData(InferenceDtype.Int8, 0.03)]
    public void Decoder_rows_follow_the_modules_position_by_position(InferenceDtype dtype, double bound)
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = randint(0, 333, new long[] { 2, 40 });
        var reference = model.Forward(ids, null); // (2, 40, vocab)
        using var decoder = new Decoder(model, dtype);
        var cache = new KvCache(model.Config);
        int[] rows = [cache.Add(), cache.Add()];
        int[] Ids(int row, int from, int to) => ids[row, from..to].data<long>().Select(v => (int)v).ToArray();
        // Row 0 prefills 20 positions (the libtorch product), row 1 only 5 (the kernel): then both step together,
        // each at its own position.
        var first = decoder.Step(cache, rows, [Ids(0, 0, 20), Ids(1, 0, 5)]);
        var pairs = new List<(Tensor Ours, Tensor Exact)> { (first[0], reference[0, 19]), (first[1], reference[1, 4]) };
        for (int i = 0; i < 15; i++)
        {
            var step = decoder.Step(cache, rows, [Ids(0, 20 + i, 21 + i), Ids(1, 5 + i, 6 + i)]);
            pairs.Add((step[0], reference[0, 20 + i]));
            pairs.Add((step[1], reference[1, 5 + i]));
        }
        Assert.Equal([35, 20], rows.Select(cache.Length));
        foreach (var (ours, exact) in pairs)
        {
            double relative = ((ours - exact).norm() / exact.norm()).item<float>();
            Assert.InRange(relative, dtype == InferenceDtype.Float32 ? 0 : 1e-6, bound);
        }
    }

    [Fact]
    public void Packed_documents_with_their_own_positions_equal_each_document_alone()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var a = randint(0, 333, new long[] { 1, 7 });
        var b = randint(0, 333, new long[] { 1, 5 });
        var packed = cat([a, b], 1);
        var positions = cat([arange(7), arange(5)]).view(1, -1);
        var document = cat([zeros(7, dtype: int64), ones(5, dtype: int64)]);
        var mask = (document.view(-1, 1) == document.view(1, -1)).logical_and(ones(12, 12, dtype: @bool).tril()).view(1, 1, 12, 12);
        var together = model.Forward(packed, mask, positions: positions)[0];
        Assert.True(together[..7].allclose(model.Forward(a, null)[0], rtol: 1e-4, atol: 1e-5));
        Assert.True(together[7..].allclose(model.Forward(b, null)[0], rtol: 1e-4, atol: 1e-5));
        Assert.False(together[7..].allclose(model.Forward(packed, null)[0, 7..], rtol: 1e-3, atol: 1e-3)); // positions matter
    }
}
