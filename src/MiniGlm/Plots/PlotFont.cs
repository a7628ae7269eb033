using System.Diagnostics;
using System.Text;
using SkiaSharp;

namespace MiniGlm.Plots;

/// Picks the font family a plot's text is drawn in. SkiaSharp's self-contained Linux build cannot ask fontconfig
/// which font has a glyph (MatchCharacter returns null), so ScottPlot's automatic detection leaves Chinese run names
/// as tofu boxes: we look for a CJK font file ourselves and register it with ScottPlot by its family name.
internal static class PlotFont
{
    /// Well-known CJK font files: Debian/Ubuntu, Fedora/Arch, macOS, Windows. Checked before fontconfig because a
    /// file test is cheap and the result does not depend on the user's fontconfig setup.
    private static readonly string[] KnownCjkFiles =
    [
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
        "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-sans-cjk-vf-fonts/NotoSansCJK-VF.ttc",
        "/usr/share/fonts/adobe-source-han-sans/SourceHanSansCN-Regular.otf",
        "/System/Library/Fonts/PingFang.ttc",
        "/System/Library/Fonts/STHeiti Medium.ttc",
        "/Library/Fonts/Arial Unicode.ttf",
        @"C:\Windows\Fonts\msyh.ttc",
        @"C:\Windows\Fonts\simhei.ttf",
    ];

    /// Latin-only sans families, used when the text needs no CJK font (Skia's own default here is a serif).
    private static readonly string[] SansFamilies = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "Segoe UI", "Noto Sans"];

    /// The family name to draw text in, and a warning when some of text's characters have no glyph in it.
    public static (string Family, string? Warning) For(string text)
    {
        var sans = SansFamily();
        using (var typeface = SKTypeface.FromFamilyName(sans))
            if (Covers(typeface, text)) return (sans, null);
        var cjk = CjkFamily.Value;
        if (cjk is not null) return (cjk, null);
        return (sans, "no CJK font found, so Chinese labels in the loss plot show as boxes; " +
                      "install one (Debian/Ubuntu: apt-get install fonts-wqy-microhei)");
    }

    private static string SansFamily()
    {
        var installed = new HashSet<string>(SKFontManager.Default.FontFamilies, StringComparer.OrdinalIgnoreCase);
        return SansFamilies.FirstOrDefault(installed.Contains) ?? SKTypeface.Default.FamilyName;
    }

    private static bool Covers(SKTypeface? typeface, string text) =>
        typeface is not null && text.EnumerateRunes().All(r => Rune.IsWhiteSpace(r) || typeface.ContainsGlyph(r.Value));

    // Searched once per process; registering the same file twice with ScottPlot would only add dead resolvers.
    private static readonly Lazy<string?> CjkFamily = new(() =>
    {
        foreach (var path in KnownCjkFiles.Concat(FontconfigFiles()))
        {
            if (!File.Exists(path)) continue;
            using var typeface = SKTypeface.FromFile(path);
            if (typeface is null || !typeface.ContainsGlyph('中')) continue;
            // Both weights, because ScottPlot draws the title bold and falls back to its default font when no
            // resolver matches the requested weight.
            ScottPlot.Fonts.AddFontFile(typeface.FamilyName, path, bold: false);
            ScottPlot.Fonts.AddFontFile(typeface.FamilyName, path, bold: true);
            return typeface.FamilyName;
        }
        return null;
    });

    /// Asks fontconfig, when installed, for fonts that cover Chinese: fc-match gives the preferred sans face first;
    /// fc-list backs it up because fc-match answers with some font (DejaVu) even when none covers Chinese.
    private static IEnumerable<string> FontconfigFiles() =>
        Run("fc-match", "-f", "%{file}", "sans-serif:lang=zh-cn").Concat(Run("fc-list", "-f", "%{file}\n", ":lang=zh"));

    private static IEnumerable<string> Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        string output;
        try
        {
            using var process = Process.Start(start);
            if (process is null) return [];
            process.StandardError.ReadToEndAsync(); // drained so a chatty stderr cannot block the child
            output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(5000)) { process.Kill(); return []; }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return []; // not installed
        }
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
