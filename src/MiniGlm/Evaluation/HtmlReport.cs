using System.Net;
using System.Text;

namespace MiniGlm.Evaluation;

/// report.html: one self-contained file (styles inline, images as data: URIs, no scripts or fetches), so it can be
/// mailed or archived and still open. Every piece of text is HTML-escaped: answers come from a model.
public static class HtmlReport
{
    private const string Style = """
        body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;
             max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
        h1{margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
        nav a{margin-right:1em} table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:14px}
        th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
        th{background:#f4f4f4} td{white-space:pre-wrap} caption{text-align:left;font-weight:600;padding:4px 0}
        img{max-width:100%;border:1px solid #eee;margin:.5em 0}
        #samples td{min-width:12em;max-width:28em}
        """;

    public static string Render(IReadOnlyList<ReportSection> sections)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n<title>MiniGLM evaluation</title>\n")
            .Append("<style>").Append(Style).Append("</style>\n</head>\n<body>\n<h1>MiniGLM evaluation</h1>\n<nav>");
        foreach (var s in sections) html.Append($"<a href=\"#{E(s.Id)}\">{E(s.Title)}</a>");
        html.Append("</nav>\n");
        foreach (var section in sections)
        {
            html.Append($"<section id=\"{E(section.Id)}\">\n<h2>{E(section.Title)}</h2>\n");
            if (section.Text is not null) html.Append($"<p>{E(section.Text)}</p>\n");
            foreach (var table in section.Tables)
            {
                html.Append("<table>");
                if (table.Caption is not null) html.Append($"<caption>{E(table.Caption)}</caption>");
                html.Append("<tr>").Append(string.Concat(table.Header.Select(h => $"<th>{E(h)}</th>"))).Append("</tr>\n");
                foreach (var row in table.Rows)
                    html.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{E(c)}</td>"))).Append("</tr>\n");
                html.Append("</table>\n");
            }
            foreach (var image in section.Images)
                html.Append($"<figure><img alt=\"{E(image.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(image.Png)}\"></figure>\n");
            html.Append("</section>\n");
        }
        return html.Append("</body>\n</html>\n").ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
