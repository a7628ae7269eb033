using Microsoft.Playwright;
using MiniGlm.Web;

namespace MiniGlm.Tests;

/// The chat and arena page in a real browser: Debian's chromium driven by Playwright (never a downloaded browser;
/// test.sh installs chromium). Screenshots land in the test output's artifacts/ folder.
public class ServePageTests
{
    private const string Chromium = "/usr/bin/chromium";
    public static string Artifacts { get; } = Path.Combine(AppContext.BaseDirectory, "artifacts");

    internal static async Task<(IPlaywright, IBrowser, IPage)> Open(ServerUnderTest s, int width = 1100, int height = 800, string? key = null)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (./test.sh does it as root)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        // The test's own WaitForFunction scripts are evaluated strings, which the page's CSP forbids (the page
        // itself has no inline or evaluated script: ServeHardeningTests checks).
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height }, BypassCSP = true });
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(s.Address.ToString());
        if (key is not null)
        {
            await page.Locator("#api-key").WaitForAsync(); // shown after the first call is refused
            await page.FillAsync("#api-key", key);
            await page.PressAsync("#api-key", "Enter");
        }
        await page.WaitForFunctionAsync("document.querySelectorAll('#model option').length > 0");
        await page.ClickAsync(".settings summary"); // open the sampling controls
        return (playwright, browser, page);
    }

    internal static Task Screenshot(IPage page, string name)
    {
        Directory.CreateDirectory(Artifacts);
        return page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Artifacts, name), FullPage = true });
    }

    private static Task<int> Count(IPage page, string selector) => page.Locator(selector).CountAsync();

    internal static Task<string> Answer(IPage page, int index) =>
        page.EvaluateAsync<string>($"document.querySelectorAll('.msg.assistant')[{index}].firstChild.textContent");

    internal static Task WaitForAnswer(IPage page, int index, string meta = "tokens/s") =>
        page.WaitForFunctionAsync($"(document.querySelectorAll('.msg.assistant .meta')[{index}]?.textContent ?? '').includes('{meta}')");

    [Fact]
    public async Task Chat_streams_answers_and_submit_retry_undo_clear_stop_do_what_they_say()
    {
        await using var s = new ServerUnderTest(new ServeOptions { MaxTokensCeiling = 1_000_000 });
        var (playwright, browser, page) = await Open(s);
        using var _ = playwright;
        await using var __ = browser;
        var worker = s.Worker("chat");
        await page.FillAsync("#max_tokens", "12");

        // Submit with Enter; the answer streams in and shows tokens/s.
        await page.FillAsync("#input", "床前明月光的下一句是什么？");
        await page.PressAsync("#input", "Enter");
        await WaitForAnswer(page, 0);
        Assert.NotEmpty(await Answer(page, 0));
        Assert.Equal("床前明月光的下一句是什么？", await page.Locator(".msg.user").First.TextContentAsync());
        Assert.Equal("", await page.InputValueAsync("#input"));
        await Screenshot(page, "chat.png");

        // Retry regenerates the last answer in place: still one exchange, one more generation on the server.
        int before = worker.Finished.Values.Sum();
        await page.ClickAsync("#retry");
        Assert.True(await ServerUnderTest.Eventually(() => worker.Finished.Values.Sum() == before + 1, 30));
        await WaitForAnswer(page, 0);
        Assert.Equal(1, await Count(page, ".msg.user"));

        // A second exchange, then Undo removes it.
        await page.FillAsync("#input", "李白是谁？");
        await page.ClickAsync("#send");
        await WaitForAnswer(page, 1);
        Assert.Equal(2, await Count(page, ".msg.user"));
        await page.ClickAsync("#undo");
        Assert.Equal(1, await Count(page, ".msg.user"));
        Assert.Equal("床前明月光的下一句是什么？", await page.Locator(".msg.user").First.TextContentAsync());

        // Stop: a long answer keeps growing until Stop, then the server stops generating.
        await page.FillAsync("#max_tokens", "1000000");
        await page.FillAsync("#input", "写一首很长的诗");
        await page.PressAsync("#input", "Enter");
        await page.WaitForFunctionAsync("document.querySelectorAll('.msg.assistant')[1]?.firstChild.textContent.length > 3");
        int early = (await Answer(page, 1)).Length;
        await page.WaitForFunctionAsync($"document.querySelectorAll('.msg.assistant')[1].firstChild.textContent.length > {early + 3}");
        Assert.True(await page.IsEnabledAsync("#stop"));
        await page.ClickAsync("#stop");
        await WaitForAnswer(page, 1, "stopped");
        Assert.False(await page.IsEnabledAsync("#stop"));
        Assert.True(await ServerUnderTest.Eventually(() => !worker.Busy), "the server kept generating after Stop"); // a million tokens otherwise
        Assert.True(worker.Finished.GetValueOrDefault("cancelled") >= 1);

        // Clear empties the conversation.
        await page.ClickAsync("#clear");
        Assert.Equal(0, await Count(page, ".msg"));

        // Phone width: nothing sticks out sideways.
        await page.SetViewportSizeAsync(390, 844);
        await page.FillAsync("#max_tokens", "12");
        await page.FillAsync("#input", "春眠不觉晓，下一句？");
        await page.PressAsync("#input", "Enter");
        await WaitForAnswer(page, 0);
        Assert.True(await page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= 390"));
        await Screenshot(page, "chat-phone.png");
    }

    [Fact]
    public async Task With_an_api_key_the_page_asks_for_it_and_then_chats()
    {
        await using var s = new ServerUnderTest(new ServeOptions { ApiKey = "s3cret" }, twoModels: false);
        var (playwright, browser, page) = await Open(s, key: "s3cret");
        using var _ = playwright;
        await using var __ = browser;
        await page.FillAsync("#max_tokens", "4");
        await page.FillAsync("#input", "你好");
        await page.PressAsync("#input", "Enter");
        await WaitForAnswer(page, 0);
    }

    [Fact]
    public async Task An_arena_vote_reveals_the_models_and_moves_the_leaderboard()
    {
        await using var s = new ServerUnderTest();
        var (playwright, browser, page) = await Open(s);
        using var _ = playwright;
        await using var __ = browser;
        await page.FillAsync("#max_tokens", "12");
        await page.ClickAsync("#tab-arena");
        await page.WaitForFunctionAsync("document.querySelectorAll('#leaderboard tbody tr').length === 2");
        Assert.Equal("0", await page.Locator("#leaderboard tbody tr >> nth=0 >> td >> nth=3").TextContentAsync());

        await page.FillAsync("#arena-input", "静夜思的作者是谁？");
        await page.PressAsync("#arena-input", "Enter");
        await page.WaitForFunctionAsync("!document.getElementById('vote-a').disabled");
        Assert.Contains("tokens/s", await page.TextContentAsync("#meta-a"));
        Assert.Contains("tokens/s", await page.TextContentAsync("#meta-b"));
        Assert.Equal("Model A", await page.TextContentAsync("#name-a")); // anonymous before the vote

        await page.Locator("#vote-a").FocusAsync();
        await page.Keyboard.PressAsync("Enter"); // vote by keyboard
        await page.WaitForFunctionAsync("document.getElementById('reveal').textContent.includes('A was')");
        var winner = (await page.TextContentAsync("#name-a"))!.Replace("Model A: ", "");
        Assert.Contains(winner, new[] { "chat", "pretrain" });
        await page.WaitForFunctionAsync($"document.querySelector('#leaderboard tbody tr td:nth-child(2)').textContent === '{winner}'");
        var top = page.Locator("#leaderboard tbody tr >> nth=0 >> td");
        Assert.Equal("1", await top.Nth(3).TextContentAsync()); // votes
        Assert.Equal("1", await top.Nth(4).TextContentAsync()); // wins
        Assert.True(double.Parse((await top.Nth(2).TextContentAsync())!, System.Globalization.CultureInfo.InvariantCulture) > 1000);
        Assert.Single(File.ReadAllLines(s.VotesPath)); // stored durably
        await Screenshot(page, "arena.png");
    }
}
