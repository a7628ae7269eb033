using System.Text;
using System.Text.RegularExpressions;

namespace MiniGlm.Evaluation;

/// report.md: the report's sections as GitHub Markdown; images are the PNG files written beside it.
public static class MarkdownReport
{
    public static string Render(IReadOnlyList<ReportSection> sections)
    {
        var md = new StringBuilder("# MiniGLM evaluation\n\n");
        foreach (var s in sections) md.Append($"- [{s.Title}](#{s.Id})\n");
        foreach (var section in sections)
        {
            md.Append($"\n<a id=\"{section.Id}\"></a>\n## {section.Title}\n\n");
            if (section.Text is not null) md.Append(Escape(section.Text)).Append("\n\n");
            foreach (var table in section.Tables)
            {
                if (table.Caption is not null) md.Append($"**{Escape(table.Caption)}**\n\n");
                md.Append("| ").AppendJoin(" | ", table.Header.Select(Escape)).Append(" |\n");
                md.Append('|').Append(string.Concat(table.Header.Select(_ => " --- |"))).Append('\n');
                foreach (var row in table.Rows) md.Append("| ").AppendJoin(" | ", row.Select(Escape)).Append(" |\n");
                md.Append('\n');
            }
            foreach (var image in section.Images) md.Append($"![{Escape(image.Title)}]({image.FileName})\n\n");
        }
        return md.ToString();
    }

    /// Model output is untrusted text: Markdown and HTML specials are escaped so it shows as written, and newlines
    /// become <br> so a multi-line answer stays in its table cell.
    public static string Escape(string text)
    {
        var escaped = Regex.Replace(text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;"),
            @"([\\`*_\[\]|~])", @"\$1");
        return escaped.Replace("\r", "").Replace("\n", "<br>");
    }
}
