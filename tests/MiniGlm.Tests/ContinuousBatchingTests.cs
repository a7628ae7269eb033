using System.Threading.Channels;
using MiniGlm.Generation;
using MiniGlm.Serving;

namespace MiniGlm.Tests;

/// Requests served together (continuous batching in <see cref="ModelWorker"/>) answer exactly as each would alone.
public class ContinuousBatchingTests
{
    private static readonly SamplingOptions Greedy = new() { Temperature = 0, StopAtEndOfText = false };

    // Prompts of different lengths and answers of different lengths (longer than block_size 32, so windows slide).
    private static readonly (string Prompt, int Tokens)[] Requests =
        [("空中用力，双脚一挺", 40), ("a", 7), ("The quick brown fox jumps over", 23), ("床前明月光", 55)];

    private static async Task<(string Text, GenerationUpdate Last)> Read(ChannelReader<GenerationUpdate> updates)
    {
        var text = "";
        GenerationUpdate? last = null;
        await foreach (var u in updates.ReadAllAsync()) { text += u.Text; last = u; }
        return (text, last!);
    }

    private static ChannelReader<GenerationUpdate> Enqueue(ModelWorker worker, int i, CancellationToken cancel = default, int? maxTokens = null)
    {
        var (prompt, tokens) = Requests[i];
        tokens = maxTokens ?? tokens;
        using var slot = worker.TryReserve()!;
        return slot.Enqueue(new GenerationRequest(worker.Model.Tokenizer.Encode(prompt), Greedy with { MaxNewTokens = tokens }, []), cancel);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Concurrent_greedy_requests_answer_as_each_alone(int count)
    {
        using var dir = new TempDir();
        using var worker = new ModelWorker("m", LoadedModel.Load(TinyCheckpoint.Create(dir["m"])), queueCapacity: 8);
        var alone = new List<(string Text, GenerationUpdate Last)>();
        for (int i = 0; i < count; i++) alone.Add(await Read(Enqueue(worker, i)));

        Assert.Equal(1, worker.LargestBatch);
        var together = await Task.WhenAll(Enumerable.Range(0, count).Select(i => Enqueue(worker, i)).ToArray().Select(Read));
        Assert.True(worker.LargestBatch >= 2, $"the requests never shared a step (largest batch {worker.LargestBatch})");

        for (int i = 0; i < count; i++)
        {
            Assert.Equal("length", together[i].Last.FinishReason);
            Assert.Equal(Requests[i].Tokens, together[i].Last.CompletionTokens);
            Assert.Equal(alone[i].Text, together[i].Text);
        }
        Assert.Equal(2 * count, worker.Finished["length"]);
        // The lone answers equal the generator's own loop.
        var g = worker.Model.Generator;
        var direct = string.Concat(g.Generate(worker.Model.Tokenizer.Encode(Requests[0].Prompt), Greedy with { MaxNewTokens = Requests[0].Tokens })
            .Select(s => s.Text[0]));
        Assert.Equal(direct, alone[0].Text);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_and_the_others_finish()
    {
        using var dir = new TempDir();
        using var worker = new ModelWorker("m", LoadedModel.Load(TinyCheckpoint.Create(dir["m"])), queueCapacity: 8);
        var alone = await Read(Enqueue(worker, 3));

        using var cancel = new CancellationTokenSource();
        var cancelled = Enqueue(worker, 0, cancel.Token, maxTokens: 100_000); // runs until cancelled
        var others = new[] { 1, 3 }.Select(i => Read(Enqueue(worker, i))).ToArray();
        await cancelled.ReadAsync(); // generation has started
        cancel.Cancel();
        var (_, last) = await Read(cancelled);

        Assert.Equal("cancelled", last.FinishReason);
        Assert.True(last.CompletionTokens < 100_000);
        var done = await Task.WhenAll(others);
        Assert.All(done, d => Assert.Equal("length", d.Last.FinishReason));
        Assert.Equal(alone.Text, done[1].Text);
        Assert.Equal(1, worker.Finished["cancelled"]);
        Assert.True(worker.LargestBatch >= 2, $"the requests never shared a step (largest batch {worker.LargestBatch})");
    }
}
