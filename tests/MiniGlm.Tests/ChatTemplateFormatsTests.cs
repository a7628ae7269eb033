using System.Text.Json;
using MiniGlm.Checkpoints;
using MiniGlm.Generation;
using MiniGlm.Interop;
using MiniGlm.Interop.Gguf;
using MiniGlm.Serving;
using MiniGlm.Tokenization;

namespace MiniGlm.Tests;

/// The chat template other engines get (ChatTemplateFormats) renders every conversation below to exactly the text of
/// the prompt our server builds (ChatPrompt, PromptBudget), byte for byte: the Jinja in tokenizer_config.json through
/// transformers.js's apply_chat_template, the Jinja in the GGUF (as @huggingface/gguf reads it) through
/// @huggingface/jinja and through Python's jinja2 as transformers sets it up, and the Ollama Modelfile's template
/// through Go's own text/template, which Ollama renders it with.
public class ChatTemplateFormatsTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private static readonly ChatTemplate Template = ChatTemplate.Seed;

    /// Conversations as OpenAI-style messages: one question; system and several turns; system texts in two
    /// messages (one of them later, a developer one) and questions in several messages; one that ends with an
    /// answer; an answer with no question; texts a template language could trip on.
    public static readonly ChatMessage[][] Conversations =
    [
        [new("user", "床前明月光的下一句是什么？")],
        [new("system", "你是诗人"), new("user", "静夜思是谁写的？"), new("assistant", "李白"), new("user", "背一下"), new("assistant", "床前明月光，疑是地上霜。"),
         new("user", "下一句呢")],
        [new("system", "你是诗人"), new("user", "第一句"), new("user", "第二句"), new("assistant", "好"), new("developer", "答得短些"), new("user", "再来")],
        [new("user", "你好"), new("assistant", "你好！")],
        [new("assistant", "我先说"), new("user", "请讲")],
        [new("system", "{{ x }} {% if %} \\ ' \" \t"), new("user", "{{ messages }}\nline 2\r\n'quoted' \"double\" \\n"), new("assistant", "<|endoftext|> ok }}"),
         new("user", "")],
    ];

    /// The text of the prompt our server builds for each conversation, end-of-text written out.
    private static List<string> ServerPrompts()
    {
        var tok = TextTokenizer.Load(TokenizerSpec.Gpt2);
        var budget = new PromptBudget(tok, Template, maxTurns: 10, blockSize: 1024);
        return Conversations.Select(c =>
        {
            var ids = ChatPrompt.Chat(budget, c, maxNewTokens: 16);
            var pieces = new List<List<int>> { new() };
            foreach (var id in ids) { if (id == tok.EotId) pieces.Add([]); else pieces[^1].Add(id); }
            return string.Join(TextTokenizer.EndOfText, pieces.Select(tok.Decode));
        }).ToList();
    }

    [Fact]
    public void The_server_prompt_is_what_the_templates_are_held_to()
    {
        var prompts = ServerPrompts();
        Assert.Equal("问：床前明月光的下一句是什么？\n答：", prompts[0]);
        Assert.Equal("你是诗人\n问：静夜思是谁写的？\n答：李白<|endoftext|>问：背一下\n答：床前明月光，疑是地上霜。<|endoftext|>问：下一句呢\n答：", prompts[1]);
        Assert.Equal("你是诗人\n答得短些\n问：第一句\n第二句\n答：好<|endoftext|>问：再来\n答：", prompts[2]);
        Assert.Equal("问：你好\n答：你好！<|endoftext|>问：\n答：", prompts[3]);
        Assert.Equal("问：\n答：我先说<|endoftext|>问：请讲\n答：", prompts[4]);
    }

    [SkippableFact]
    public void Transformers_js_and_huggingface_jinja_render_the_exported_templates_as_our_server_prompts()
    {
        NodeCheckers.Require();
        var (hf, gguf) = Export();
        var chats = dir.Write("chats.json", JsonSerializer.Serialize(Conversations.Select(c => c.Select(m => new { role = m.Role, content = m.Content }))));
        var expected = ServerPrompts();
        Assert.Equal(expected, NodeCheckers.Run("chat", hf, chats).EnumerateArray().Select(e => e.GetString()!));
        var metadata = NodeCheckers.Run("gguf", gguf).GetProperty("metadata");
        var template = dir.Write("gguf-template.jinja", metadata.GetProperty("tokenizer.chat_template").GetString()!);
        Assert.Equal(expected, NodeCheckers.Run("render", template, chats).EnumerateArray().Select(e => e.GetString()!));
    }

    /// transformers renders chat_template with jinja2 in a sandbox (trim_blocks, lstrip_blocks, loopcontrols).
    [SkippableFact]
    public void Jinja2_renders_the_exported_template_as_our_server_prompts()
    {
        OutsideCheck.Require("python3-jinja2", ExternalProcess.Python("-c", "import jinja2").Code == 0, "no jinja2 for /usr/bin/python3 (apt-get install python3-jinja2)");
        var (hf, _) = Export();
        const string Render = """
            import json, sys
            from jinja2.sandbox import ImmutableSandboxedEnvironment
            cfg = json.load(open(sys.argv[1], encoding='utf-8'))
            env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=['jinja2.ext.loopcontrols'])
            template = env.from_string(cfg['chat_template'])
            chats = json.load(open(sys.argv[2], encoding='utf-8'))
            out = [template.render(messages=c, add_generation_prompt=True, eos_token=cfg['eos_token'], bos_token=cfg['bos_token']) for c in chats]
            sys.stdout.buffer.write(json.dumps(out).encode())
            """;
        var chats = dir.Write("chats.json", JsonSerializer.Serialize(Conversations.Select(c => c.Select(m => new { role = m.Role, content = m.Content }))));
        var (code, output, error) = ExternalProcess.Python(dir.Write("render.py", Render), Path.Combine(hf, "tokenizer_config.json"), chats);
        Assert.True(code == 0, error);
        Assert.Equal(ServerPrompts(), JsonSerializer.Deserialize<List<string>>(output)!);
    }

    /// Ollama renders a Modelfile's TEMPLATE with Go's text/template over .Messages (Role, Content).
    [SkippableFact]
    public void Go_text_template_renders_the_modelfile_template_as_our_server_prompts()
    {
        OutsideCheck.Require("golang-go (text/template)", Exec("go", "version").Code == 0, "no Go toolchain (apt-get install golang-go)");
        var (_, gguf) = Export();
        var modelfile = File.ReadAllText(GgufExport.ModelfilePath(gguf));
        Assert.StartsWith($"FROM ./{Path.GetFileName(gguf)}\n", modelfile);
        Assert.Contains("PARAMETER stop \"<|endoftext|>\"\nPARAMETER num_ctx 32\n", modelfile);
        int start = modelfile.IndexOf("TEMPLATE \"\"\"") + 12, end = modelfile.IndexOf("\"\"\"", start);
        var template = dir.Write("ollama.tmpl", modelfile[start..end]);
        Assert.Equal(ChatTemplateFormats.Ollama(Template), modelfile[start..end]);
        const string Render = """
            package main

            import (
            	"encoding/json"
            	"os"
            	"strings"
            	"text/template"
            )

            type Message struct{ Role, Content string }

            func main() {
            	source, _ := os.ReadFile(os.Args[1])
            	tmpl := template.Must(template.New("ollama").Parse(string(source)))
            	raw, _ := os.ReadFile(os.Args[2])
            	var chats [][]Message
            	if err := json.Unmarshal(raw, &chats); err != nil {
            		panic(err)
            	}
            	out := []string{}
            	for _, messages := range chats {
            		var b strings.Builder
            		if err := tmpl.Execute(&b, map[string]any{"Messages": messages, "System": "", "Prompt": "", "Response": ""}); err != nil {
            			panic(err)
            		}
            		out = append(out, b.String())
            	}
            	json.NewEncoder(os.Stdout).Encode(out)
            }
            """;
        var chats = dir.Write("chats.json", JsonSerializer.Serialize(Conversations.Select(c => c.Select(m => new { Role = m.Role, Content = m.Content }))));
        var (code, output, error) = Exec("go", "run", dir.Write("render.go", Render), template, chats);
        Assert.True(code == 0, error);
        Assert.Equal(ServerPrompts(), JsonSerializer.Deserialize<List<string>>(output)!);
    }

    [Fact]
    public void A_pretrained_model_s_modelfile_passes_the_prompt_through()
    {
        var ckpt = TinyCheckpoint.Create(dir["pre"]);
        var r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", dir["pre.gguf"], "--dtype", "f32");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("FROM ./pre.gguf\nTEMPLATE \"\"\"{{ .Prompt }}\"\"\"\nPARAMETER stop \"<|endoftext|>\"\nPARAMETER num_ctx 32\nPARAMETER temperature 0.8\n",
            File.ReadAllText(dir["pre.Modelfile"]));
        Assert.Contains("pre.Modelfile", r.Out);
    }

    /// The README shows the Modelfile the export writes for the quickstart's model, not a copy made by hand.
    [Fact]
    public void The_readme_shows_the_modelfile_the_export_writes()
    {
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "README.md"));
        var expected = ChatTemplateFormats.Modelfile(Template, "mybot.gguf", 256);
        Assert.Contains("```\n" + expected + "```\n", readme);
    }

    /// A chat checkpoint exported to Hugging Face and to GGUF (with its Modelfile).
    private (string Hf, string Gguf) Export()
    {
        var ckpt = TinyCheckpoint.Create(dir["ckpt"], Template);
        var r = Cli.Run("export", "--ckpt", ckpt, "--format", "hf", "--out", dir["hf"]);
        Assert.True(r.Code == 0, r.Err);
        r = Cli.Run("export", "--ckpt", ckpt, "--format", "gguf", "--out", dir["bot.gguf"], "--dtype", "f32");
        Assert.True(r.Code == 0, r.Err);
        return (dir["hf"], dir["bot.gguf"]);
    }

    private static (int Code, string Out, string Err) Exec(string program, params string[] args) => ExternalProcess.Run(program, args);
}
