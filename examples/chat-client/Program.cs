using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using MiniGlm;

using var model = MiniGlmChatClient.Load(args[0]); // a checkpoint or run directory, e.g. out/quickstart/sft
using var logs = LoggerFactory.Create(b => b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Debug));
IChatClient client = new ChatClientBuilder(model).UseLogging(logs).Build(); // any IChatClient middleware goes here

var question = args.Length > 1 ? args[1] : "床前明月光的下一句是什么？";
await foreach (var update in client.GetStreamingResponseAsync(question, new ChatOptions { MaxOutputTokens = 100 }))
    Console.Write(update.Text);
Console.WriteLine();
