#!/usr/bin/env python3
"""Asks a served quickstart chatbot questions as a person would, through the OpenAI API, greedy, and says right/wrong.

    ./miniglm serve --ckpt out/quickstart/sft --port 8000 &
    python3 examples/probe/talk_probe.py [--url http://127.0.0.1:8000] [--model NAME] [--data data/qa] [--out FILE.md]

Three groups: single questions about any line of the famous quatrains (next line, which poem; right: the key and no
refusal), conversations whose last turn leans on the turn before (「背一下」, 「他写过哪些诗？」, 「第三句是什么？」),
and questions about poems and poets the quickstart never read (right: 「我没有读过…」). The known held-out key match is
eval's (reports/quickstart). --data: the sft-data folder; its knowledge text gives the famous quatrains' lines, and
its training set says which never-read titles, poets and lines training taught it to refuse (marked, not hidden).
Python 3 standard library only.
"""
import argparse
import json
import random
import urllib.request

FAMOUS = ["静夜思", "春晓", "登鹳雀楼", "相思", "江雪", "枫桥夜泊", "早发白帝城", "鹿柴", "寻隐者不遇", "出塞", "凉州词",
          "黄鹤楼送孟浩然之广陵", "登幽州台歌", "九月九日忆山东兄弟", "回乡偶书", "乌衣巷", "泊秦淮", "夜雨寄北", "登乐游原",
          "渭城曲", "芙蓉楼送辛渐", "江南逢李龟年", "赤壁"]

# Wordings of my own, as a person might type them (some may match a training wording by chance).
NEXT = ["{x}，下一句是什么？", "{x}的下一句？", "“{x}”后面是哪句", "{x}下一句是啥", "请问{x}的下一句", "{x}，接下来呢？"]
SOURCE = ["{x}出自哪首诗", "“{x}”是哪首诗里的句子？", "{x}这句出自哪里", "“{x}”是哪首诗？"]

# (turns, what the last answer must contain: every string of one of the alternatives)
CONVERSATIONS = [
    (["春晓是谁写的", "背一下"], [["春眠不觉晓"]]),
    (["《枫桥夜泊》是谁写的", "背一下这首诗"], [["月落乌啼霜满天"]]),
    (["介绍一下杜牧", "他写过哪些诗？"], [["杜牧", "《"]]),
    (["《江雪》是谁写的？", "背一下", "第三句是什么？"], [["孤舟蓑笠翁"]]),
    (["床前明月光的下一句是什么", "再下一句"], [["举头望明月"]]),
    (["《登鹳雀楼》是谁写的", "哪个朝代的？"], [["唐"]]),
    (["“春风不度玉门关”出自哪首诗", "作者是谁？"], [["王之涣"]]),
    (["《相思》是谁写的", "他还写过什么"], [["王维", "《"]]),
]

UNREAD = ["《将进酒》是谁写的？", "背一下《春望》", "《蜀道难》的作者是谁？", "《琵琶行》全文是什么", "《长恨歌》是谁写的",
          "“国破山河在”的下一句是什么？", "“大漠孤烟直”出自哪首诗？", "介绍一下苏轼", "辛弃疾有哪些作品？", "李清照是谁？",
          "《水调歌头·明月几时有》是谁写的", "陆游是哪个朝代的人？", "岳飞写过什么诗", "柳永是谁", "《望岳》是谁写的",
          "“会当凌绝顶”的下一句是什么", "范仲淹有哪些作品", "《使至塞上》是谁写的？", "王安石是哪个朝代的？", "背一下《念奴娇·赤壁怀古》"]

REFUSAL = "没有读过"


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def ask(args, turns):
    """Asks each user turn after the model's own earlier answers, as the page does; returns every answer."""
    messages, answers = [], []
    for user in turns:
        messages.append({"role": "user", "content": user})
        body = {"messages": messages, "temperature": 0, "max_tokens": 160}
        if args.model:
            body["model"] = args.model
        answer = post(args.url + "/v1/chat/completions", body)["choices"][0]["message"]["content"]
        messages.append({"role": "assistant", "content": answer})
        answers.append(answer)
    return answers


def famous_lines(data):
    """Title → clauses of the famous quatrains, from the knowledge text (title, dynasty·author, lines, blank)."""
    poems, blocks = {}, open(f"{data}/knowledge/poems.txt", encoding="utf-8").read().split("\n\n")
    for block in blocks:
        lines = block.strip().split("\n")
        if len(lines) >= 3 and lines[0] in FAMOUS and "·" in lines[1]:
            text = "".join(lines[2:])
            for mark in "，。？！；：":
                text = text.replace(mark, "|")
            poems[lines[0]] = [c for c in text.split("|") if c]
    return poems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--model")
    p.add_argument("--data", default="data/qa")
    p.add_argument("--single", type=int, default=30, help="single questions about the famous quatrains")
    p.add_argument("--seed", type=int, default=23)
    p.add_argument("--out", help="also write the transcript as Markdown here")
    args = p.parse_args()
    rng = random.Random(args.seed)
    trained = set()  # titles, poets and lines training refuses: 「我没有读过《X》。」, 「…X的作品。」, 「…“X”这句。」
    for line in open(f"{args.data}/poetry.jsonl", encoding="utf-8"):
        q = json.loads(line)
        if q.get("Type", "").startswith("refuse_"):
            name = q["Answer"].removeprefix("我没有读过").removesuffix("。").removesuffix("的作品").removesuffix("这句")
            trained.add(name.strip("《》“”"))

    rows, tally = [], {}

    def record(group, turns, answers, right, note=""):
        tally.setdefault(group, [0, 0])
        tally[group][0] += right
        tally[group][1] += 1
        rows.append((group, " → ".join(turns), " / ".join(a.replace("\n", " ") for a in answers), "✓" if right else "✗", note))

    poems = famous_lines(args.data)
    picks = [(t, i) for t, lines in poems.items() for i in range(len(lines))]
    rng.shuffle(picks)
    for title, i in picks[:args.single]:
        lines = poems[title]
        if i + 1 < len(lines) and rng.random() < 0.5:
            q, key = rng.choice(NEXT).replace("{x}", lines[i]), lines[i + 1]
        else:
            q, key = rng.choice(SOURCE).replace("{x}", lines[i]), title
        [a] = ask(args, [q])
        record("famous quatrain lines", [q], [a], key in a and REFUSAL not in a, f"key {key}")

    for turns, alternatives in CONVERSATIONS:
        answers = ask(args, turns)
        record("follow-up conversations", turns, answers, any(all(k in answers[-1] for k in keys) for keys in alternatives),
               "key " + " or ".join("+".join(keys) for keys in alternatives))

    for q in UNREAD:
        [a] = ask(args, [q])
        record("never read: refused", [q], [a], REFUSAL in a, "trained as a refusal" if any(n in q for n in trained) else "")

    print("| group | right | of |\n| --- | --- | --- |")
    for group, (right, n) in tally.items():
        print(f"| {group} | {right} | {n} |")
    transcript = ["| group | question(s) | answer(s) | right | note |", "| --- | --- | --- | --- | --- |"]
    transcript += [f"| {' | '.join(c.replace('|', '/') for c in row)} |" for row in rows]
    print("\n".join(transcript))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write("\n".join(transcript) + "\n")


if __name__ == "__main__":
    main()
