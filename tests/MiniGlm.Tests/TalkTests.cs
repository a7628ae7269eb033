using MiniGlm.Evaluation;
using MiniGlm.Questions;

namespace MiniGlm.Tests;

/// Follow-ups as a reusable piece (any builder gives facts about one subject and their short forms), and how eval
/// counts follow-ups and refusals.
public class TalkTests
{
    private static readonly FollowUpFact Who = new(new QaPair("《江雪》是谁写的？", "《江雪》的作者是唐代诗人柳宗元。", "who_wrote", "柳宗元"), "poem", ["作者呢？"]);
    private static readonly FollowUpFact Recite = new(new QaPair("背诵《江雪》。", "《江雪》：千山鸟飞绝…", "recite", "千山鸟飞绝"), "poem", ["背一下", "全文呢", "原文是什么？"]);
    private static readonly FollowUpFact Works = new(new QaPair("柳宗元有哪些作品？", "柳宗元的作品有《江雪》等。", "author_works", "江雪"), "poet", ["他还写过什么", "他还有哪些名篇？"]);

    [Fact]
    public void A_chain_asks_the_first_fact_in_full_and_the_rest_short_with_the_full_answers()
    {
        var rng = new Random(1);
        var c = FollowUps.Chain([Who, Recite, Works], rng, _ => true)!;
        Assert.Equal(Who.Full, c.Turns[0]);
        Assert.Contains(c.Turns[1].Question, new[] { "背一下", "全文呢" });              // a training short form, never the held-out last one
        Assert.Equal(new QaPair(c.Turns[1].Question, Recite.Full.Answer, "follow_poem", "千山鸟飞绝"), c.Turns[1]);
        Assert.Equal(("他还写过什么", "follow_poet", "江雪"), (c.Turns[2].Question, c.Turns[2].Type, c.Turns[2].Key));

        var held = FollowUps.Chain([Who, Works], rng, _ => true, heldOutLast: true)!;
        Assert.Equal("他还有哪些名篇？", held.Turns[^1].Question);
        // A chain cut short by the budget: the turns that fit; a held-out chain whose last turn does not fit: none.
        Assert.Equal(2, FollowUps.Chain([Who, Recite, Works], rng, t => t.Count <= 2)!.Turns.Count);
        Assert.Null(FollowUps.Chain([Who, Works], rng, t => t.Count <= 1, heldOutLast: true));
        Assert.Null(FollowUps.Chain([Who], rng, _ => true));
        // A list with a single short form trains it (there is nothing to hold out).
        Assert.Equal("作者呢？", FollowUps.Ask(Who, rng).Question);
    }

    private static QuestionResult Q(string type, string? key, params AnswerScore[] answers) => new()
    {
        File = "f.jsonl", Type = type, Key = key, Question = "q", Reference = "r", Answers = answers,
    };

    private static AnswerScore A(string answer, bool? key = null, int? kept = null) => new()
    {
        Answer = answer, KeyMatch = key, Refusal = PoetryRefusals.IsRefusal(answer), HistoryKept = kept,
    };

    [Fact]
    public void Eval_counts_right_and_wrong_refusals_and_follow_ups_by_reference()
    {
        QuestionResult[] questions =
        [
            Q("refuse_title", PoetryRefusals.Key, A("我没有读过《将进酒》。", true)),
            Q("refuse_poet", PoetryRefusals.Key, A("李白是唐代人。", false)),
            Q("who_wrote", "柳宗元", A("我没有读过《江雪》。", false)),
            Q("who_wrote", "柳宗元", A("《江雪》的作者是唐代诗人柳宗元。", true)),
            Q("follow_poem", "千山鸟飞绝", A("《江雪》：千山鸟飞绝…", true, kept: 1)),
            Q("follow_poem", "千山鸟飞绝", A("孟浩然。", false, kept: 0)),
            Q("follow_line", "独钓寒江雪", A("“孤舟蓑笠翁”的下一句是“独钓寒江雪”。", true, kept: 2)),
        ];
        var r = Assert.Single(RefusalCounts.Of(questions, 0));
        Assert.Equal(new RefusalCounts("f.jsonl", Unread: 2, RightRefusals: 1, Read: 5, WrongRefusals: 1), r);
        Assert.Equal(1, r.AnsweredInstead);
        Assert.Equal([new FollowUpCounts("follow_line", 1, 1, 0), new FollowUpCounts("follow_poem", 2, 1, 1), new FollowUpCounts("all", 3, 2, 1)],
            FollowUpCounts.Of(questions, 0));
    }
}
