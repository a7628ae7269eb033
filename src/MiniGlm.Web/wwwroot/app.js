// MiniGLM page: chat and arena over the server's own OpenAI-compatible API. No libraries, works offline.
"use strict";
const $ = (id) => document.getElementById(id);
const state = { models: [], history: [], controller: null };

// ---- API helpers ----------------------------------------------------------------------------------------------
function headers() {
  const h = { "Content-Type": "application/json" };
  const key = localStorage.getItem("miniglm-key");
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function api(path, body) {
  const res = await fetch(path, body === undefined ? { headers: headers() } : { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (res.status === 401) $("key-box").hidden = false;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error?.message || res.statusText);
  return data;
}

function sampling() {
  const num = (id) => Number($(id).value);
  return { temperature: num("temperature"), top_k: num("top_k"), top_p: num("top_p"),
           max_tokens: num("max_tokens"), repetition_penalty: num("repetition_penalty") };
}

// Streams a chat completion: onText(piece) for each piece; resolves to {usage, finish} once the server says
// [DONE]. An error event, or a stream that ends without [DONE] (the connection dropped), rejects: the answer is
// cut. The server sends whole characters only, and TextDecoder's stream mode keeps a character split across
// network reads intact.
async function streamChat(path, body, onText, signal) {
  const res = await fetch(path, { method: "POST", headers: headers(), signal,
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }) });
  if (!res.ok) {
    if (res.status === 401) $("key-box").hidden = false;
    const data = await res.json().catch(() => ({}));
    throw new Error(data.error?.message || `${res.status} ${res.statusText}`);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "", usage = null, finish = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return { usage, finish };
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message || "the answer failed");
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) onText(choice.delta.content);
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
    }
  }
  throw new Error("the connection ended before the answer was finished");
}

function describe(result) {
  const u = result.usage, parts = [];
  if (u) {
    const rate = u.generation_seconds > 0 ? (u.completion_tokens / u.generation_seconds).toFixed(1) : "–";
    parts.push(`${u.completion_tokens} tokens · ${rate} tokens/s`);
  }
  if (result.finish === "length") parts.push("cut at max tokens");
  if (result.finish === "abort") parts.push("stopped by the server");
  return parts.join(" · ");
}

// ---- chat -----------------------------------------------------------------------------------------------------
function render() {
  const log = $("log");
  log.replaceChildren();
  for (const turn of state.history) {
    const u = document.createElement("div");
    u.className = "msg user"; u.textContent = turn.user;
    const a = document.createElement("div");
    a.className = "msg assistant" + (turn.cut ? " cut" : "") + (turn.error ? " error" : "");
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = (turn.meta || "") + (turn.cut ? " · cut: not sent back to the model with the next question" : "");
    a.append(document.createTextNode(turn.assistant), meta);
    log.append(u, a);
    turn.node = a;
  }
  log.scrollTop = log.scrollHeight;
  updateButtons();
}

function updateButtons() {
  const busy = state.controller !== null;
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("retry").disabled = busy || state.history.length === 0;
  $("undo").disabled = state.history.length === 0;
  $("clear").disabled = state.history.length === 0;
}

// The conversation sent with a question: finished exchanges only. A stopped or failed answer is not a turn the
// model gave (it stays on the page, marked cut), so neither it nor its question is sent back.
async function answer() {
  const turn = state.history[state.history.length - 1];
  const messages = [];
  for (const t of state.history) {
    if (t.cut && t !== turn) continue;
    messages.push({ role: "user", content: t.user });
    if (t !== turn) messages.push({ role: "assistant", content: t.assistant });
  }
  Object.assign(turn, { assistant: "", meta: "…", error: false, cut: false });
  state.controller = new AbortController();
  render();
  const text = turn.node.firstChild;
  try {
    const result = await streamChat("/v1/chat/completions", { model: $("model").value, messages, ...sampling() }, (piece) => {
      turn.assistant += piece;
      text.textContent = turn.assistant;
      $("log").scrollTop = $("log").scrollHeight;
    }, state.controller.signal);
    turn.meta = describe(result);
    turn.cut = result.finish === "abort";
  } catch (e) {
    turn.cut = true;
    if (e.name === "AbortError") turn.meta = "stopped";
    else { turn.error = true; turn.meta = "error: " + e.message; }
  } finally {
    state.controller = null;
    render();
  }
}

function stop() { state.controller?.abort(); }

$("chat-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("input").value.trim();
  if (!text || state.controller) return;
  $("input").value = "";
  state.history.push({ user: text, assistant: "" });
  answer();
});
$("stop").addEventListener("click", stop);
$("retry").addEventListener("click", () => { if (state.history.length && !state.controller) answer(); });
$("undo").addEventListener("click", () => { stop(); state.history.pop(); render(); });
$("clear").addEventListener("click", () => { stop(); state.history = []; render(); });
for (const [input, form] of [["input", "chat-form"], ["arena-input", "arena-form"]]) {
  $(input).addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $(form).requestSubmit(); }
  });
}
$("model").addEventListener("change", showKind);
// A model's settings come from the server (/v1/models): whether it is sent earlier turns, the temperature it
// starts at (low for a chat model: a fact bot), and the presets one click away.
function showKind() {
  const m = state.models.find((x) => x.id === $("model").value);
  $("model-kind").textContent = m ? (m.chat ? "chat model: answers questions" : "pretrained model: continues your text") : "";
  $("turn-note").hidden = !(m && m.chat && !m.multi_turn);
  const presets = Object.entries(m?.temperature_presets ?? {});
  $("presets").replaceChildren(...(presets.length ? [document.createTextNode("temperature")] : []), ...presets.map(([name, t]) => {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = `${name} ${t}`; b.dataset.temperature = t;
    b.addEventListener("click", () => { $("temperature").value = t; showPreset(); });
    return b;
  }));
  if (m) $("temperature").value = m.temperature;
  showPreset();
}
function showPreset() {
  for (const b of $("presets").querySelectorAll("button"))
    b.setAttribute("aria-pressed", String(Number(b.dataset.temperature) === Number($("temperature").value)));
}
$("temperature").addEventListener("input", showPreset);

// ---- arena ----------------------------------------------------------------------------------------------------
const arena = { id: null, prompt: "", busy: false };
const voteButtons = ["vote-a", "vote-b", "vote-tie", "vote-bad"].map($);

$("arena-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const prompt = $("arena-input").value.trim();
  if (!prompt || arena.busy) return;
  arena.busy = true; $("battle").disabled = true;
  voteButtons.forEach((b) => (b.disabled = true));
  $("reveal").textContent = "";
  for (const s of ["a", "b"]) { $("arena-" + s).textContent = ""; $("meta-" + s).textContent = "…"; $("name-" + s).textContent = "Model " + s.toUpperCase(); }
  try {
    const battle = await api("/arena/battles", {});
    Object.assign(arena, { id: battle.id, prompt });
    const body = { messages: [{ role: "user", content: prompt }], ...sampling() };
    await Promise.all(["a", "b"].map(async (s) => {
      try {
        const result = await streamChat(`/arena/battles/${battle.id}/${s}/chat/completions`, body,
          (piece) => { $("arena-" + s).textContent += piece; });
        $("meta-" + s).textContent = describe(result);
      } catch (err) { $("meta-" + s).textContent = "error: " + err.message; }
    }));
    voteButtons.forEach((b) => (b.disabled = false));
    voteButtons[0].focus();
  } catch (err) {
    $("reveal").textContent = "error: " + err.message;
  } finally {
    arena.busy = false; $("battle").disabled = false;
  }
});

for (const button of voteButtons) {
  button.addEventListener("click", async () => {
    voteButtons.forEach((b) => (b.disabled = true));
    try {
      const v = await api(`/arena/battles/${arena.id}/vote`, { winner: button.dataset.winner, prompt: arena.prompt });
      $("name-a").textContent = "Model A: " + v.model_a;
      $("name-b").textContent = "Model B: " + v.model_b;
      $("reveal").textContent = `Thanks! A was ${v.model_a}, B was ${v.model_b}.`;
      await leaderboard();
    } catch (err) { $("reveal").textContent = "error: " + err.message; }
  });
}

async function leaderboard() {
  const rows = await api("/arena/leaderboard");
  const body = $("leaderboard").tBodies[0];
  body.replaceChildren(...rows.map((r, i) => {
    const tr = document.createElement("tr");
    for (const v of [i + 1, r.model, r.elo.toFixed(1), r.votes, r.wins, r.losses, r.ties, r.both_bad]) {
      const td = document.createElement("td"); td.textContent = v; tr.append(td);
    }
    return tr;
  }));
}

// ---- tabs, key, start-up --------------------------------------------------------------------------------------
for (const tab of document.querySelectorAll("[role=tab]")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll("[role=tab]")) {
      t.setAttribute("aria-selected", String(t === tab));
      $(t.getAttribute("aria-controls")).hidden = t !== tab;
    }
    if (tab.id === "tab-arena") leaderboard().catch(() => {});
  });
}
$("api-key").addEventListener("change", () => { localStorage.setItem("miniglm-key", $("api-key").value); loadModels(); });

async function loadModels() {
  try {
    const data = await api("/v1/models");
    state.models = data.data;
    $("model").replaceChildren(...state.models.map((m) => new Option(m.id, m.id)));
    showKind();
  } catch (e) { $("model-kind").textContent = "error: " + e.message; }
}
loadModels();
render();
