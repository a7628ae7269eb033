namespace MiniGlm.Questions;

/// The ways each question type is asked. All but the last two of a type are used for training; the last two never
/// are: they make heldout_paraphrase.jsonl, which tests whether the model learned the fact or the wording. Many
/// (not four) because a small model trained on few wordings learns them as fixed strings: asked "请问《…》这首作品的
/// 作者是哪位？", the quickstart model recited the poem instead of naming its poet. The training ones are also
/// written as people type: titles without 《》, 呀/啥/呢 endings, short forms (静夜思谁写的), and a few with one
/// character of the wording left out, as a typo does. After the first quickstart with line_source questions, the
/// model answered next_line questions worded without 下一句 (and dynasty questions without 朝) as the nearest trained
/// type: a few wordings were added that ask for the next line with 接/之后/往下 and for the era with 时代/年代 (the
/// held-out ones were not changed). `{x}` is the title, the title label (《静夜思》 or
/// 李白的《静夜思》), the line, or the author; `{bare}` is the label without 《》.
public static class PoetryPhrasings
{
    /// The last this many phrasings of each type are held out.
    public const int HeldOut = 2;

    public static readonly IReadOnlyDictionary<string, string[]> ByType = new Dictionary<string, string[]>
    {
        ["who_wrote"] = ["《{x}》是谁写的？", "《{x}》的作者是谁？", "谁写了《{x}》？", "《{x}》出自哪位诗人之手？",
                         "请问《{x}》是谁写的？", "你知道《{x}》的作者吗？", "《{x}》这首诗是谁的作品？", "哪位诗人创作了《{x}》？",
                         "{x}是谁写的呀", "{x}谁写的", "{x}的作者是谁呢", "{x}作者是啥", "《{x}》这首诗的作者是？",
                         "《{x}》的作者谁？", "谁写《{x}》？",
                         "请问《{x}》这首作品的作者是哪位？", "你知道《{x}》是哪位古人创作的吗？"],
        ["recite"] = ["背诵{x}。", "请背诵{x}的全文。", "{x}的全文是什么？", "默写{x}。",
                      "请默写{x}。", "{x}全诗是怎样的？", "念一遍{x}。", "我想读{x}，请给出全文。",
                      "帮我背一下{x}", "背一下{bare}", "{bare}怎么背？", "{bare}全文是啥", "{bare}原文呢",
                      "请背{x}的全文。", "{x}的全是什么？",
                      "把{x}从头到尾背一遍", "{x}能完整背给我听吗？", "{x}是怎么写的？",
                      "能把{x}完整地念一遍吗？", "{x}原文怎么写？"],
        ["next_line"] = ["“{x}”的下一句是什么？", "“{x}”下一句是？", "接下一句：{x}", "{x}，后面一句是什么？",
                         "“{x}”的后一句是什么？", "{x}的下句是？", "请接下句：“{x}”", "“{x}”，下一句怎么接？",
                         "{x}下一句", "{x}的下一句是啥", "{x}下一句是什么呀", "{x}下句呢",
                         "“{x}”的下一是什么？", "{x}后面一是什么？",
                         "“{x}”后面接哪句？", "{x}接着是哪一句呀", "“{x}”往下一句怎么背？", "“{x}”之后是什么？",
                         "请接出“{x}”后面的诗句。", "“{x}”之后紧跟着哪一句？"],
        ["line_source"] = ["“{x}”出自哪首诗？", "“{x}”是哪首诗里的？", "{x}出自哪首诗啊", "{x}是哪首诗的句子？",
                           "“{x}”这句诗出自哪里？", "{x}出自哪里呀", "“{x}”是什么诗里的？", "{x}是哪首诗",
                           "哪首诗里有“{x}”这一句？", "“{x}”出自哪首诗呢？",
                           "“{x}”出自哪诗？", "{x}是哪首里的？",
                           "请问“{x}”这句出自哪一首作品？", "“{x}”这一句是从哪首诗里来的？"],
        ["author_bio"] = ["介绍一下{x}。", "{x}是谁？", "请简要介绍{x}。", "说说{x}的生平。",
                          "{x}的生平是怎样的？", "请介绍诗人{x}。", "你了解{x}吗？", "给我讲讲{x}。",
                          "{x}是谁呀", "介绍下{x}", "{x}是个啥人", "讲讲{x}呗",
                          "介绍一{x}。", "说说{x}生平。",
                          "{x}是个什么样的人？", "能讲讲{x}这个人吗？"],
        ["author_works"] = ["{x}有哪些作品？", "列举几首{x}的作品。", "{x}写过哪些诗词？", "{x}的代表作有哪些？",
                            "{x}有什么作品？", "请列出{x}的几首诗。", "{x}写了什么诗？", "{x}有哪些名作？",
                            "{x}写过啥诗", "{x}有啥作品呀", "{x}还写过什么", "{x}有哪些诗呢",
                            "{x}有哪作品？", "{x}写过哪诗词？",
                            "说几首{x}写的诗词。", "{x}留下了哪些作品？"],
        ["author_dynasty"] = ["{x}是哪个朝代的人？", "{x}生活在什么朝代？", "{x}是哪个朝代的诗人？", "{x}属于哪个朝代？",
                              "{x}是哪朝人？", "{x}是唐朝人还是宋朝人？", "{x}活在哪个朝代？", "请问{x}是什么朝代的？",
                              "{x}是哪朝的呀", "{x}哪个朝代的", "{x}是什么朝代的人呢", "{x}是哪个朝代的啊",
                              "{x}是哪个朝的人？", "{x}生活在什么朝？",
                              "{x}是哪个时代的人？", "{x}是什么年代的诗人？",
                              "{x}是什么时期的人物？", "请问{x}所处的朝代是？"],
    };

    /// How many phrasings of this type training may use (the first ones).
    public static int Training(string type) => ByType[type].Length - HeldOut;

    /// The question: a phrasing with the fact's {x} (and {bare}, {x} without 《》) filled in.
    public static string Ask(string type, int index, string x) =>
        ByType[type][index].Replace("{x}", x).Replace("{bare}", x.Replace("《", "").Replace("》", ""));

    /// A phrasing's name in the summary: type#n, n counted from 1 (the last two of a type are the held-out ones).
    public static string Name(string type, int index) => $"{type}#{index + 1}";
}
