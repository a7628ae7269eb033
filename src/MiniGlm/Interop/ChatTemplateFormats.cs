using System.Globalization;
using System.Text;
using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Interop;

/// A checkpoint's chat layout (<see cref="ChatTemplate"/>) written for other engines, all from here: the Jinja text of
/// Hugging Face's tokenizer_config.json and GGUF's `tokenizer.chat_template`, and the Go template of an Ollama
/// Modelfile. Each renders a conversation as our server's prompt lays it out (Serving.ChatPrompt, PromptBudget):
/// the system and developer texts, joined by newlines, first on their own line; user messages in a row, joined by
/// newlines, as one question; each answer after its question and closed by end-of-text; then the open question
/// ("" when the conversation ends with an answer) between the prefixes, where the next answer begins (Jinja:
/// with add_generation_prompt; without, an open question ends the text as it is). Unlike our server they render
/// every turn: dropping the oldest to fit the context (max_turns, block_size) is the other engine's business.
public static class ChatTemplateFormats
{
    // ChatPrompt's joins: several system texts, several user messages in a row.
    private const string SystemJoin = "\n", QuestionJoin = "\n";
    private static readonly string SystemEnd = ChatTemplate.SystemText(""), AnswerEnd = TextTokenizer.EndOfText;

    /// Jinja, as transformers (jinja2), transformers.js (@huggingface/jinja) and llama.cpp render it. Every tag
    /// trims the whitespace around it, so the lines and indents below are layout only: nothing but the values is
    /// printed.
    public static string Jinja(ChatTemplate t)
    {
        string user = Jinja(t.UserPrefix), assistant = Jinja(t.AssistantPrefix);
        return string.Join("\n",
            "{%- set ns = namespace(system='', has_system=false, open='', has_open=false, turns='') -%}",
            "{%- for message in messages -%}",
            "  {%- if message['role'] == 'system' or message['role'] == 'developer' -%}",
            $"    {{%- set ns.system = ns.system + {Jinja(SystemJoin)} + message['content'] if ns.has_system else message['content'] -%}}",
            "    {%- set ns.has_system = true -%}",
            "  {%- elif message['role'] == 'user' -%}",
            $"    {{%- set ns.open = ns.open + {Jinja(QuestionJoin)} + message['content'] if ns.has_open else message['content'] -%}}",
            "    {%- set ns.has_open = true -%}",
            "  {%- elif message['role'] == 'assistant' -%}",
            $"    {{%- set ns.turns = ns.turns + {user} + ns.open + {assistant} + message['content'] + {Jinja(AnswerEnd)} -%}}",
            "    {%- set ns.open = '' -%}",
            "    {%- set ns.has_open = false -%}",
            "  {%- endif -%}",
            "{%- endfor -%}",
            $"{{%- if ns.system != '' -%}}{{{{- ns.system + {Jinja(SystemEnd)} -}}}}{{%- endif -%}}",
            "{{- ns.turns -}}",
            $"{{%- if add_generation_prompt -%}}{{{{- {user} + ns.open + {assistant} -}}}}",
            $"{{%- elif ns.has_open -%}}{{{{- {user} + ns.open -}}}}",
            "{%- endif -%}");
    }

    /// A Go text/template over Ollama's .Messages (Ollama always asks for the next answer). Every action trims the
    /// whitespace around it, so the lines and indents are layout only.
    public static string Ollama(ChatTemplate t)
    {
        string user = Go(t.UserPrefix), assistant = Go(t.AssistantPrefix);
        return string.Join("\n",
            "{{- $system := \"\" -}}",
            "{{- $hasSystem := false -}}",
            "{{- range .Messages -}}",
            "  {{- if or (eq .Role \"system\") (eq .Role \"developer\") -}}",
            $"    {{{{- if $hasSystem -}}}}{{{{- $system = printf \"%s%s%s\" $system {Go(SystemJoin)} .Content -}}}}",
            "    {{- else -}}{{- $system = .Content -}}{{- $hasSystem = true -}}{{- end -}}",
            "  {{- end -}}",
            "{{- end -}}",
            $"{{{{- if $system -}}}}{{{{- $system -}}}}{{{{- {Go(SystemEnd)} -}}}}{{{{- end -}}}}",
            "{{- $open := \"\" -}}",
            "{{- $hasOpen := false -}}",
            "{{- range .Messages -}}",
            "  {{- if eq .Role \"user\" -}}",
            $"    {{{{- if $hasOpen -}}}}{{{{- $open = printf \"%s%s%s\" $open {Go(QuestionJoin)} .Content -}}}}",
            "    {{- else -}}{{- $open = .Content -}}{{- $hasOpen = true -}}{{- end -}}",
            "  {{- else if eq .Role \"assistant\" -}}",
            $"    {{{{- {user} -}}}}{{{{- $open -}}}}{{{{- {assistant} -}}}}{{{{- .Content -}}}}{{{{- {Go(AnswerEnd)} -}}}}",
            "    {{- $open = \"\" -}}",
            "    {{- $hasOpen = false -}}",
            "  {{- end -}}",
            "{{- end -}}",
            $"{{{{- {user} -}}}}{{{{- $open -}}}}{{{{- {assistant} -}}}}");
    }

    /// An Ollama Modelfile for the GGUF file named: its template (a chat model's layout, else the raw prompt), the
    /// stop token, the context the position table allows and the temperature our chat starts at.
    public static string Modelfile(ChatTemplate? t, string ggufFileName, int contextLength)
    {
        var template = t is null ? "{{ .Prompt }}" : Ollama(t);
        if (template.Contains("\"\"\"")) throw new MiniGlmException("the chat template's prefixes contain \"\"\", which an Ollama Modelfile cannot quote");
        var temperature = (t is null ? SamplingOptions.SeedTemperature : SamplingOptions.ChatTemperature).ToString(CultureInfo.InvariantCulture);
        return $"FROM ./{ggufFileName}\n" +
               $"TEMPLATE \"\"\"{template}\"\"\"\n" +
               $"PARAMETER stop \"{TextTokenizer.EndOfText}\"\n" +
               $"PARAMETER num_ctx {contextLength}\n" +
               $"PARAMETER temperature {temperature}\n";
    }

    /// A single-quoted Jinja string literal.
    private static string Jinja(string s) =>
        "'" + s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "'";

    /// A double-quoted Go string literal (text/template reads Go's escapes).
    private static string Go(string s)
    {
        var b = new StringBuilder("\"");
        foreach (var c in s)
            b.Append(c switch
            {
                '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t",
                < ' ' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return b.Append('"').ToString();
    }
}
