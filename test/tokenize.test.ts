import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import { PromptTokenizer } from "../src/model/tokenize.js";
import { DEFAULT_TOKENIZER, type TokenizerSpec } from "../src/model/manifest.js";

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "vla-tok-"));
  await makeTinyModel(dir, { seed: 1 });
});

after(async () => rm(dir, { recursive: true, force: true }));

const spec = (over: Partial<TokenizerSpec>): TokenizerSpec => ({ ...DEFAULT_TOKENIZER, ...over });

test("the template wraps the instruction and special tokens frame it, mask all ones without padding", async () => {
  const tok = await PromptTokenizer.load(dir, spec({}));
  assert.equal(tok.prompt("go left"), "<grounding>An image of a robot go left");
  const t = tok.encode("Navigate to the gray basket on the left");
  assert.deepEqual(t.tokens, [
    "<s>",
    "<grounding>",
    "▁An",
    "▁image",
    "▁of",
    "▁a",
    "▁robot",
    "▁Navigate",
    "▁to",
    "▁the",
    "▁gray",
    "▁basket",
    "▁on",
    "▁the",
    "▁left",
    "</s>",
  ]);
  assert.equal(t.length, 16);
  assert.equal(t.ids.length, 16);
  assert.equal(t.ids[0], 0n, "<s> is id 0 as in XLM-R");
  assert.equal(t.ids[15], 2n, "</s> is id 2 as in XLM-R");
  assert.ok(
    t.mask.every((m) => m === 1n),
    "mask must be 1 on every real token",
  );
  const bare = (await PromptTokenizer.load(dir, spec({ add_special_tokens: false }))).encode("Navigate to the gray basket on the left");
  assert.equal(bare.length, 14);
  assert.notEqual(bare.ids[0], 0n);
});

test("fixed padding pads ids with the pad id and the mask with zeros", async () => {
  const tok = await PromptTokenizer.load(dir, spec({ padding: { kind: "fixed", length: 24, pad_id: 1 } }));
  const t = tok.encode("go");
  assert.equal(t.ids.length, 24);
  assert.equal(t.mask.length, 24);
  const n = t.length;
  assert.equal(n, 9, "<s> <grounding> ▁An ▁image ▁of ▁a ▁robot ▁go </s>");
  assert.deepEqual([...t.mask], [...Array(n).fill(1n), ...Array(24 - n).fill(0n)]);
  assert.deepEqual([...t.ids.slice(n)], Array(24 - n).fill(1n));
});

test("a prompt longer than the padding or max_length is refused with the field named; results are cached", async () => {
  const tok = await PromptTokenizer.load(dir, spec({ padding: { kind: "fixed", length: 12, pad_id: 1 } }));
  assert.throws(() => tok.encode("Navigate to the gray basket on the left"), /tokenizer\.padding\.length is 12/);
  const short = await PromptTokenizer.load(dir, spec({ max_length: 10 }));
  assert.throws(() => short.encode("Navigate to the gray basket on the left"), /tokenizer\.max_length 10/);
  const a = short.encode("go");
  assert.equal(short.encode("go"), a, "the same instruction must come from the cache");
});

test("a missing or broken tokenizer file names the file", async () => {
  await assert.rejects(PromptTokenizer.load(dir, spec({ file: "nope.json" })), /nope\.json: cannot read the tokenizer \(ENOENT\)/);
  await assert.rejects(PromptTokenizer.load(dir, spec({ file: "manifest.json" })), /manifest\.json: not a usable Hugging Face tokenizer\.json/);
});

test("a megabyte instruction is refused by length, naming the bound, before the tokenizer sees it", async () => {
  const tok = await PromptTokenizer.load(dir, spec({}));
  // The length rule's message, not the token count's: refused before tokenising (a 1.6 MB prompt overflowed its stack).
  assert.throws(() => tok.encode("go left ".repeat(200_000)), /instruction: 1600000 characters, more than the 4096 an instruction may have/);
  // Under the bound, the token count is what decides.
  assert.throws(() => tok.encode("go ".repeat(1000)), /the prompt has \d+ tokens, more than tokenizer\.max_length 256/);
});
