// Hugging Face's own JavaScript implementations run on our exports (tests/MiniGlm.Tests/NodeCheckers.cs):
//   node checkers.mjs tokenize HF_DIR TEXTS.json        → the ids AutoTokenizer gives each text (no special tokens added)
//   node checkers.mjs chat HF_DIR CHATS.json            → each conversation through the tokenizer's apply_chat_template
//   node checkers.mjs render TEMPLATE.jinja CHATS.json  → each conversation rendered by @huggingface/jinja
//   node checkers.mjs gguf FILE.gguf                    → the metadata and tensor list @huggingface/gguf reads
// Prints one JSON value. Nothing is fetched: the tokenizer is read from the local directory only.
import fs from 'node:fs';
import path from 'node:path';

const [command, first, second] = process.argv.slice(2);
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const plain = (value) => JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? Number(v) : v)));

async function tokenizer(dir) {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(path.resolve(dir)) + path.sep;
  return AutoTokenizer.from_pretrained(path.basename(path.resolve(dir)));
}

let result;
switch (command) {
  case 'tokenize': {
    const tok = await tokenizer(first);
    result = readJson(second).map((text) => tok.encode(text, { add_special_tokens: false }));
    break;
  }
  case 'chat': {
    const tok = await tokenizer(first);
    result = readJson(second).map((messages) => tok.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true }));
    break;
  }
  case 'render': {
    const { Template } = await import('@huggingface/jinja');
    const template = new Template(fs.readFileSync(first, 'utf8'));
    result = readJson(second).map((messages) =>
      template.render({ messages, add_generation_prompt: true, eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' }));
    break;
  }
  case 'gguf': {
    const { gguf } = await import('@huggingface/gguf');
    const { metadata, tensorInfos } = await gguf(path.resolve(first), { allowLocalFile: true });
    result = plain({ metadata, tensors: tensorInfos.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype })) });
    break;
  }
  default:
    console.error(`unknown command '${command}' (tokenize, chat, render, gguf)`);
    process.exit(2);
}
process.stdout.write(JSON.stringify(result));
