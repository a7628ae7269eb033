using System.Text.Json;

namespace MiniGlm.Questions;

/// A book and the names its question templates are filled with. The name is used as written (write the 《》).
public sealed record Book(string Name, IReadOnlyList<string> Characters, IReadOnlyList<string> Plots);

/// The entities file: `{"books":[{"name":"《射雕英雄传》","characters":[…],"plots":[…]}]}`.
public static class BookEntities
{
    private sealed record Root(List<RawBook>? Books);
    private sealed record RawBook(string? Name, List<string>? Characters, List<string>? Plots);

    public static List<Book> Load(string path)
    {
        if (!File.Exists(path)) throw new MiniGlmException($"{path}: entities file not found");
        Root? root;
        try { root = JsonSerializer.Deserialize<Root>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true }); }
        catch (JsonException e) { throw new MiniGlmException($"{path}: not valid JSON ({e.Message.Split('\n')[0]}); expected {{\"books\":[{{\"name\":…,\"characters\":[…],\"plots\":[…]}}]}}"); }
        if (root?.Books is not { Count: > 0 } books) throw new MiniGlmException($"{path}: expected a non-empty \"books\" array");
        return books.Select((b, i) => string.IsNullOrWhiteSpace(b.Name)
                ? throw new MiniGlmException($"{path}: book {i + 1} has no \"name\"")
                : new Book(b.Name.Trim(), Clean(b.Characters), Clean(b.Plots)))
            .ToList();
    }

    private static List<string> Clean(List<string>? names) =>
        (names ?? []).Select(n => n.Trim()).Where(n => n.Length > 0).Distinct().ToList();
}
