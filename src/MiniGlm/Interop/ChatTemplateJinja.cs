using MiniGlm.Generation;
using MiniGlm.Tokenization;

namespace MiniGlm.Interop;

/// A checkpoint's chat template as the Jinja text other engines render (`tokenizer.chat_template` in GGUF and in
/// Hugging Face's tokenizer_config.json): the same text <see cref="ChatTemplate.Render"/> produces, an optional
/// system text and a newline first, each answer closed by end-of-text. The user turn already ends with the
/// assistant prefix, so with or without add_generation_prompt the prompt ends where the answer begins.
public static class ChatTemplateJinja
{
    public static string From(ChatTemplate template) =>
        "{%- for message in messages -%}" +
        "{%- if message['role'] == 'system' -%}{{ message['content'] + '\\n' }}" +
        $"{{%- elif message['role'] == 'user' -%}}{{{{ {Literal(template.UserPrefix)} + message['content'] + {Literal(template.AssistantPrefix)} }}}}" +
        $"{{%- elif message['role'] == 'assistant' -%}}{{{{ message['content'] + {Literal(TextTokenizer.EndOfText)} }}}}" +
        "{%- endif -%}{%- endfor -%}";

    /// A single-quoted Jinja string literal.
    private static string Literal(string s) =>
        "'" + s.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "'";
}
