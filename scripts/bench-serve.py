#!/usr/bin/env python3
"""Loopback load test of `./miniglm serve`: C concurrent streaming clients, each sending R chat completions one
after another. Prints aggregate completion tokens/s, time to first token and latency percentiles, and errors.

usage: scripts/bench-serve.py [--url http://127.0.0.1:8000] [--clients 1,4,16] [--requests 4] [--max_tokens 64] [--temperature 0.8]
"""
import argparse, http.client, json, statistics, threading, time, urllib.parse

PROMPTS = ["床前明月光的下一句是什么？", "写一首关于春天的诗", "李白是谁？", "静夜思的作者是谁？"]


def one_request(url, model, prompt, max_tokens, temperature):
    """Streams one completion; returns (time to first token, latency, completion tokens) or raises."""
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                       "temperature": temperature, "stream": True, "stream_options": {"include_usage": True}})
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:200]!r}")
    first, tokens = None, None
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if first is None and any(c.get("delta", {}).get("content") for c in chunk.get("choices", [])):
            first = time.perf_counter() - start
        if chunk.get("usage"):
            tokens = chunk["usage"]["completion_tokens"]
    latency = time.perf_counter() - start
    conn.close()
    if tokens is None:
        raise RuntimeError("no usage chunk")
    return first if first is not None else latency, latency, tokens


def run(url, model, clients, requests, max_tokens, temperature):
    results, errors, lock = [], [], threading.Lock()

    def client(k):
        for r in range(requests):
            try:
                res = one_request(url, model, PROMPTS[(k + r) % len(PROMPTS)], max_tokens, temperature)
                with lock: results.append(res)
            except Exception as e:  # counted, not fatal: the table reports errors
                with lock: errors.append(str(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.perf_counter() - start
    return results, errors, wall


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--model", default="")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=4, help="requests per client")
    ap.add_argument("--max_tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.8)
    a = ap.parse_args()
    model = a.model
    if not model:
        u = urllib.parse.urlparse(a.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("GET", "/v1/models")
        model = json.loads(conn.getresponse().read())["data"][0]["id"]
    run(a.url, model, 1, 1, 8, a.temperature)  # warm-up
    print(f"model {model}, {a.requests} requests per client, max_tokens {a.max_tokens}, temperature {a.temperature}")
    print("| clients | requests | tokens | wall s | aggregate tok/s | TTFT p50 ms | TTFT p99 ms | latency p50 s | latency p99 s | slowest request tok/s | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in (int(x) for x in a.clients.split(",")):
        results, errors, wall = run(a.url, model, c, a.requests, a.max_tokens, a.temperature)
        tokens = sum(r[2] for r in results)
        ttft = [r[0] * 1000 for r in results]
        lat = [r[1] for r in results]
        per_request = [r[2] / r[1] for r in results if r[1] > 0]
        print(f"| {c} | {len(results)} | {tokens} | {wall:.1f} | {tokens / wall:.1f} | {pct(ttft, 50):.0f} | {pct(ttft, 99):.0f} | "
              f"{pct(lat, 50):.2f} | {pct(lat, 99):.2f} | {min(per_request) if per_request else 0:.1f} | {len(errors)} |", flush=True)
        for e in errors[:3]: print("  error:", e)


if __name__ == "__main__":
    main()
