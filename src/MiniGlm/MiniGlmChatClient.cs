using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using MiniGlm.Generation;
using MiniGlm.Model;
using MiniGlm.Serving;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace MiniGlm;

/// <summary>
/// A MiniGLM checkpoint as an <see cref="IChatClient"/> (Microsoft.Extensions.AI), running in this process.
/// </summary>
/// <remarks>
/// One instance may be shared by any number of callers: requests queue on the model's own generation thread and
/// are decoded together in one step, as <c>miniglm serve</c> does (continuous batching). Each request's sampling
/// comes from <see cref="ChatOptions"/>: <see cref="ChatOptions.Temperature"/>, <see cref="ChatOptions.TopP"/>,
/// <see cref="ChatOptions.TopK"/>, <see cref="ChatOptions.MaxOutputTokens"/>, <see cref="ChatOptions.StopSequences"/>
/// and <see cref="ChatOptions.Seed"/>; the additional property <c>repetition_penalty</c> (a number) is read too.
/// What is not given starts where <c>chat</c> and <c>serve</c> start for this checkpoint. Cancelling a request's
/// token, or leaving a streaming loop early, stops its generation after the current token.
/// </remarks>
public sealed class MiniGlmChatClient : IChatClient
{
    /// <summary>The answer's length in tokens when <see cref="ChatOptions.MaxOutputTokens"/> is not given (serve's default).</summary>
    public const int DefaultMaxOutputTokens = 256;

    private readonly ModelWorker worker;
    private readonly PromptBudget budget;
    private readonly ChatClientMetadata metadata;

    /// <summary>Loads a checkpoint directory, or a run directory (its <c>best/</c>, else <c>latest/</c>).</summary>
    /// <param name="checkpoint">The directory <c>miniglm train</c> wrote, e.g. <c>out/quickstart/sft</c>.</param>
    /// <param name="dtype">The weights' format for decoding: <see cref="InferenceDtype.Float32"/> (exact),
    /// <see cref="InferenceDtype.BFloat16"/> or <see cref="InferenceDtype.Int8"/> (faster on CPU).</param>
    /// <param name="queueCapacity">Requests that may wait for the model at once; one more is refused with an
    /// <see cref="InvalidOperationException"/>.</param>
    /// <exception cref="MiniGlmException">The directory holds no readable checkpoint.</exception>
    public static MiniGlmChatClient Load(string checkpoint, InferenceDtype dtype = InferenceDtype.Float32, int queueCapacity = 256) =>
        new(LoadedModel.Load(checkpoint, dtype), queueCapacity);

    internal MiniGlmChatClient(LoadedModel model, int queueCapacity)
    {
        ModelId = ModelPool.NameOf(model.Path);
        worker = new ModelWorker(ModelId, model, queueCapacity);
        budget = PromptBudget.For(model);
        metadata = new ChatClientMetadata("miniglm", new Uri(Path.GetFullPath(model.Path)), ModelId);
    }

    /// <summary>The model's name: its run directory's name (<c>out/quickstart/sft/best</c> → <c>sft</c>).</summary>
    public string ModelId { get; }

    /// <summary>Whether the checkpoint was fine-tuned to answer questions (it has a chat template); a pretrained
    /// model continues the conversation's text instead.</summary>
    public bool IsChatModel => worker.Template is not null;

    /// <summary>The context length in tokens (block_size); longer conversations keep their newest turns.</summary>
    public int ContextLength => worker.Model.Config.Model.BlockSize;

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var conversation = Conversation(messages);
        var sampling = Sampling(options);
        using var slot = worker.TryReserve()
            ?? throw new InvalidOperationException($"{ModelId}: {worker.QueueCapacity} requests are already waiting for the model; try again later");
        var prompt = ChatPrompt.Chat(budget, conversation, sampling.MaxNewTokens);
        var request = new GenerationRequest(prompt, sampling, options?.StopSequences?.Where(s => s.Length > 0).ToList() ?? []);
        // Cancelled when the caller cancels and whenever the enumeration ends (a caller that stops reading early
        // must not leave the model generating for nobody).
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var updates = slot.Enqueue(request, cancel.Token);
        var responseId = "miniglm-" + Guid.NewGuid().ToString("N")[..24];
        var created = DateTimeOffset.UtcNow;
        try
        {
            await foreach (var u in updates.ReadAllAsync(cancellationToken))
            {
                if (u.FinishReason == "cancelled")
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    throw new ObjectDisposedException(nameof(MiniGlmChatClient), "the client was disposed during the answer");
                }
                var update = new ChatResponseUpdate(ChatRole.Assistant, u.Text)
                {
                    ResponseId = responseId, MessageId = responseId, ModelId = ModelId, CreatedAt = created,
                };
                if (u.FinishReason is not null)
                {
                    update.FinishReason = u.FinishReason == "length" ? ChatFinishReason.Length : ChatFinishReason.Stop;
                    update.Contents.Add(new UsageContent(new UsageDetails
                    {
                        InputTokenCount = prompt.Count, OutputTokenCount = u.CompletionTokens, TotalTokenCount = prompt.Count + u.CompletionTokens,
                    }));
                }
                if (u.Text.Length > 0 || u.FinishReason is not null) yield return update;
            }
        }
        finally { cancel.Cancel(); }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Stops the generation thread (answers in progress end cancelled) and frees the model.</summary>
    public void Dispose() => worker.Dispose();

    /// System messages join into the system text; user and assistant messages are the turns; tool messages have
    /// no place in the template and are refused.
    private static List<Serving.ChatMessage> Conversation(IEnumerable<AiChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = new List<Serving.ChatMessage>();
        foreach (var m in messages)
        {
            string role = m.Role == ChatRole.System ? "system" : m.Role == ChatRole.User ? "user" : m.Role == ChatRole.Assistant ? "assistant"
                : throw new ArgumentException($"unsupported role '{m.Role}' (use system, user or assistant)", nameof(messages));
            list.Add(new Serving.ChatMessage(role, m.Text));
        }
        if (list.Count == 0) throw new ArgumentException("messages must not be empty", nameof(messages));
        return list;
    }

    private SamplingOptions Sampling(ChatOptions? options)
    {
        var d = SamplingOptions.For(worker.Template);
        double? penalty = options?.AdditionalProperties?.TryGetValue("repetition_penalty", out double p) == true ? p : null;
        var sampling = new SamplingOptions
        {
            MaxNewTokens = options?.MaxOutputTokens ?? DefaultMaxOutputTokens,
            Temperature = options?.Temperature ?? d.Temperature,
            TopP = options?.TopP ?? d.TopP,
            TopK = options?.TopK ?? d.TopK,
            RepetitionPenalty = penalty ?? d.RepetitionPenalty,
            Seed = options?.Seed is { } s ? (int)(s & int.MaxValue) : Random.Shared.Next(),
        };
        try { return sampling.Validated(); }
        catch (MiniGlmException e) { throw new ArgumentException(e.Message, nameof(options)); }
    }
}
