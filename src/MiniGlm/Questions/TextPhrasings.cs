namespace MiniGlm.Questions;

/// The ways each question about a user's text is asked, in Chinese for Chinese text and in English for English text.
/// As for poetry (PoetryPhrasings), the last two of each type are never trained: they make heldout_paraphrase.jsonl.
/// The training ones are written as people type: with “” quotes, ASCII '' quotes or none, 啥/呢/呀 endings, short forms. `{x}` is the
/// fact's subject (a clause, a chapter's name, an ordinal), `{n}` the ordinal in digits, `{book}` the book's name,
/// `{u}` the word chapters are counted in (篇, 回, 章, chapter).
public static class TextPhrasings
{
    public const int HeldOut = 2;

    private static readonly Dictionary<string, string[]> Chinese = new()
    {
        ["chapter_title"] = ["{book}第{x}{u}是什么？", "{book}的第{x}{u}叫什么？", "第{x}{u}是哪一{u}？", "{book}第{n}{u}叫什么名字", "第{x}{u}叫啥",
                             "{book}的第{x}{u}是哪{u}", "第{n}{u}是什么", "{book}第{x}{u}的标题是什么？", "说说{book}第{x}{u}是哪一{u}",
                             "请问{book}的第{x}{u}名为什么？", "{book}中排在第{x}的是哪一{u}？"],
        ["chapter_number"] = ["{x}是第几{u}？", "{x}是{book}的第几{u}？", "{x}排第几", "{x}在{book}里是第几{u}呀", "{x}是第几{u}呢",
                              "{book}中{x}排在第几{u}？", "{x}是第几个{u}", "请问{x}是第几{u}？",
                              "{x}在全书中位列第几？", "{x}在{book}里排第几位？"],
        ["chapter_next"] = ["{x}的下一{u}是什么？", "{x}后面是哪一{u}？", "{x}之后是什么{u}", "{x}下一{u}是啥", "{x}的后一{u}是哪{u}？",
                            "{book}里{x}后面接的是哪一{u}", "{x}下一{u}呢", "{x}之后的一{u}叫什么？",
                            "紧接着{x}的是哪一{u}？", "{x}再往后一{u}是什么？"],
        ["chapter_prev"] = ["{x}的上一{u}是什么？", "{x}前面是哪一{u}？", "{x}之前是什么{u}", "{x}上一{u}是啥", "{x}的前一{u}是哪{u}？",
                            "{book}里{x}前面是哪一{u}", "{x}前一{u}呢", "{x}之前的一{u}叫什么？",
                            "排在{x}前面的是哪一{u}？", "{x}再往前一{u}是什么？"],
        ["chapter_last"] = ["{book}最后一{u}是什么？", "{book}的最后一{u}叫什么？", "{book}最后一{u}是哪{u}", "{book}的末{u}是什么", "最后一{u}是啥",
                            "{book}最后一{u}叫啥名字", "{book}以哪一{u}结尾？", "{book}最末一{u}是哪一{u}？",
                            "{book}的压轴一{u}是什么？", "{book}收尾的是哪一{u}？"],
        ["chapter_count"] = ["{book}有几{u}？", "{book}一共有多少{u}？", "{book}共几{u}", "{book}有多少{u}呀", "{book}总共几{u}",
                             "{book}分为几{u}？", "{book}一共几{u}呢", "{book}包括多少{u}？",
                             "{book}全书共分多少{u}？", "{book}总计有几{u}？"],
        ["chapter_author"] = ["{x}的作者是谁？", "{x}是谁写的？", "谁写了{x}？", "{x}作者是谁", "{x}谁写的", "{x}是谁的作品？",
                              "{x}出自谁的手笔？", "{x}的作者是？",
                              "请问{x}这篇是哪位作者写的？", "{x}是由谁创作的？"],
        ["book_author"] = ["{book}的作者是谁？", "{book}是谁写的？", "谁写了{book}？", "{book}作者是谁", "{book}谁写的", "{book}是谁的作品？",
                           "{book}出自谁的手笔？", "{book}的作者是？",
                           "请问{book}这本书是哪位作者写的？", "{book}是由谁创作的？"],
        ["next_clause"] = ["“{x}”的下一句是什么？", "“{x}”下一句是？", "接下一句：{x}", "{x}，后面一句是什么？", "{x}的下一句", "{x}下一句是啥",
                           "{x}下句呢", "'{x}'下一句是什么", "“{x}”后面是什么？", "{x}接下来是哪句", "{x}的后一句是什么？", "{x}下一句是什么呀", "“{x}”之后是哪一句？",
                           "请接出“{x}”的下一句。", "“{x}”往下一句怎么说？"],
        ["prev_clause"] = ["“{x}”的上一句是什么？", "“{x}”上一句是？", "{x}，前面一句是什么？", "{x}的上一句", "{x}上一句是啥", "{x}上句呢", "'{x}'上一句是什么",
                           "“{x}”前面是什么？", "{x}前一句是哪句", "{x}的前一句是什么？", "{x}上一句是什么呀",
                           "“{x}”之前是哪一句？", "请说出“{x}”的上一句。"],
        ["clause_source"] = ["“{x}”出自哪一{u}？", "“{x}”出自{book}哪一{u}？", "{x}出自哪{u}", "{x}是哪一{u}里的？", "“{x}”是{book}哪{u}的？",
                             "{x}出自哪里", "'{x}'出自哪一{u}", "'{x}'是{book}哪一{u}里的", "{x}出自{book}的哪一{u}呀", "“{x}”在哪一{u}？", "{x}是哪{u}的句子", "“{x}”这句出自哪里？",
                             "“{x}”这句话见于哪一{u}？", "请问“{x}”是{book}中哪一{u}的内容？"],
        ["recite_opening"] = ["背一下{x}的开头。", "{x}开头是怎么写的？", "{x}的开头是什么？", "{x}第一段是什么", "{x}开头是啥", "背诵{x}的开头",
                              "{x}是怎么开始的？", "{x}的第一句是什么？", "说一下{x}的开头", "{x}开篇写的什么",
                              "能把{x}的开头念一下吗？", "{x}起首几句是什么？"],
        ["who_said"] = ["“{x}”是谁说的？", "{x}这句话是谁说的", "谁说过“{x}”？", "“{x}”是谁说的呀", "{x}是谁说的", "这句话是谁说的：{x}",
                        "{x}谁说的", "'{x}'是谁说的", "'{x}'这句是谁说的", "“{x}”出自谁之口？", "说“{x}”的是谁？", "“{x}”是谁的话？",
                        "“{x}”这话是哪个人讲的？", "请问“{x}”一语是谁所言？"],
    };

    private static readonly Dictionary<string, string[]> EnglishPhrasings = new()
    {
        ["chapter_title"] = ["What is chapter {n} of {book} called?", "What's the title of chapter {n}?", "chapter {n} title", "What is chapter {n} called?",
                             "title of chapter {n} in {book}?", "Which chapter is chapter {n}?", "name of chapter {n}",
                             "Could you tell me what the {x} chapter is titled?", "In {book}, how is chapter {n} named?"],
        ["chapter_number"] = ["Which chapter is \"{x}\"?", "What number is the chapter \"{x}\"?", "\"{x}\" is chapter what?", "chapter number of {x}",
                              "Where does \"{x}\" come in {book}?", "which chapter number is {x}",
                              "In {book}, what is the number of the chapter called \"{x}\"?", "\"{x}\" is which chapter of the book?"],
        ["chapter_next"] = ["What chapter comes after \"{x}\"?", "Which chapter follows \"{x}\"?", "chapter after {x}", "What's the next chapter after {x}?",
                            "what comes after the chapter {x}", "After \"{x}\", which chapter is next?",
                            "Name the chapter that directly follows \"{x}\".", "Once \"{x}\" ends, what chapter begins?"],
        ["chapter_prev"] = ["What chapter comes before \"{x}\"?", "Which chapter precedes \"{x}\"?", "chapter before {x}", "What's the chapter before {x}?",
                            "what comes before the chapter {x}", "Before \"{x}\", which chapter is there?",
                            "Name the chapter just ahead of \"{x}\".", "Which chapter ends right before \"{x}\" starts?"],
        ["chapter_last"] = ["What is the last chapter of {book}?", "What's the final chapter?", "last chapter of {book}", "Which chapter ends {book}?",
                            "final chapter title", "How is the last chapter of {book} called?",
                            "Name the closing chapter of {book}.", "What chapter does {book} finish with?"],
        ["chapter_count"] = ["How many chapters does {book} have?", "How many chapters are there?", "number of chapters in {book}", "how many chapters in {book}",
                             "Count the chapters of {book}.", "{book} has how many chapters?",
                             "What is the total number of chapters in {book}?", "In all, how many chapters make up {book}?"],
        ["chapter_author"] = ["Who wrote \"{x}\"?", "Who is the author of \"{x}\"?", "author of {x}", "who wrote {x}", "\"{x}\" was written by whom?",
                              "Whose work is \"{x}\"?", "Tell me who wrote the piece \"{x}\".", "Which writer is behind \"{x}\"?"],
        ["book_author"] = ["Who wrote {book}?", "Who is the author of {book}?", "author of {book}", "who wrote {book}", "{book} was written by whom?",
                           "Whose book is {book}?", "Tell me who wrote the book {book}.", "Which writer is behind {book}?"],
        ["next_clause"] = ["What comes after \"{x}\"?", "What is the next sentence after \"{x}\"?", "next sentence: {x}", "what follows \"{x}\"",
                           "Continue: \"{x}\"", "After \"{x}\", what's the next line?", "What's the sentence following \"{x}\"?",
                           "Which sentence comes right after \"{x}\" in the text?", "Please give the line that follows \"{x}\"."],
        ["prev_clause"] = ["What comes before \"{x}\"?", "What is the sentence before \"{x}\"?", "previous sentence: {x}", "what precedes \"{x}\"",
                           "Before \"{x}\", what's the line?", "What's the sentence preceding \"{x}\"?",
                           "Which sentence comes right before \"{x}\" in the text?", "Please give the line just ahead of \"{x}\"."],
        ["clause_source"] = ["Which chapter is \"{x}\" from?", "Where does \"{x}\" appear?", "which chapter has {x}", "In which chapter of {book} is \"{x}\"?",
                             "\"{x}\" is from which chapter?", "where is \"{x}\" in {book}",
                             "Tell me the chapter containing \"{x}\".", "\"{x}\" can be found in what chapter?"],
        ["recite_opening"] = ["How does \"{x}\" begin?", "What is the opening of \"{x}\"?", "opening of {x}", "how does the chapter {x} start",
                              "Recite the beginning of \"{x}\".", "What are the first lines of \"{x}\"?",
                              "Tell me how the chapter \"{x}\" opens.", "Quote the start of \"{x}\"."],
        ["who_said"] = ["Who said \"{x}\"?", "Who says \"{x}\"?", "who said {x}", "\"{x}\" was said by whom?", "Which character said \"{x}\"?",
                        "who says \"{x}\" in {book}", "Tell me who spoke the words \"{x}\".", "Whose line is \"{x}\"?"],
    };

    public static IReadOnlyDictionary<string, string[]> For(bool english) => english ? EnglishPhrasings : Chinese;

    public static int Training(bool english, string type) => For(english)[type].Length - HeldOut;

    public static string Ask(TextBook book, string type, int index, string x, int n) => For(book.English)[type][index]
        .Replace("{x}", x).Replace("{n}", n.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .Replace("{book}", book.English ? book.Name : $"《{book.Name}》").Replace("{u}", book.Unit);

    public static string Name(string type, int index) => $"{type}#{index + 1}";
}
