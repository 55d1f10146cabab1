import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DEFAULT_PROBE_INSTRUCTION, probeInstruction, probeLines, type ProbeModel } from "../src/model/instruction-probe.js";
import { makeTinyModel } from "../synthetic/tiny-model.js";
import type { PromptTokens } from "../src/model/tokenize.js";
import { VlaModel } from "../src/model/vla-model.js";

let root: string;
let model: VlaModel;
const pixels = new Float32Array(3 * 32 * 32).map((_, i) => (i % 29) / 29);

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "vla-probe-"));
  await makeTinyModel(path.join(root, "m"), { seed: 2 });
  model = await VlaModel.load(path.join(root, "m"), { warmup: false });
});

after(async () => {
  await model.close();
  await rm(root, { recursive: true, force: true });
});

const sum = (t: PromptTokens) => Number(t.mask.reduce((a, b) => a + b, 0n));

/** The real tokenizer with a backbone that sees only the token count, as the December 2025 Kosmos-2 models do. */
function countOnly(training?: { instructions: string[]; prompt_tokens: number[] }, scale = 1): ProbeModel {
  return {
    manifest: training ? { training } : {},
    tokenizer: model.tokenizer,
    runBackbone: async (_p, t) => Float32Array.from({ length: 8 }, (_, i) => scale * Math.tanh(0.01 * sum(t) * (i + 1))),
  };
}

test("the tiny backbone embeds each token: the probe says its words DO matter", async () => {
  const p = await probeInstruction(model, pixels);
  assert.equal(p.base.text, DEFAULT_PROBE_INSTRUCTION);
  assert.equal(p.sameCount?.text, "Navigate to the gray basket on the right", "left/right is the first swap tried");
  assert.equal(p.sameCount?.tokens, p.base.tokens);
  assert.notEqual(p.otherCount?.tokens, p.base.tokens);
  assert.equal(p.wordsMatter, true);
  assert.match(p.verdict, /^The instruction's words DO change this model's feature/);
});

test("a backbone that sees only the token count: words do NOT matter, length does, said in a robot user's terms", async () => {
  const p = await probeInstruction(countOnly(), pixels);
  const n = p.base.tokens;
  assert.equal(p.wordsMatter, false);
  assert.equal(p.lengthMatters, true);
  assert.equal(p.sameCount?.difference, 0);
  assert.ok(
    p.verdict.startsWith("The instruction's words do NOT change this model's feature (difference 0.0); only its length (token count) does (difference "),
    p.verdict,
  );
  assert.ok(p.verdict.endsWith(`This model cannot hear 'left' vs 'right': it will act the same for any instruction of ${n} tokens.`), p.verdict);
  const lines = probeLines(p, [n - 6]);
  assert.ok(
    lines.some((l) => l.includes(`trained on prompts of ${n - 6} tokens`)),
    lines.join("\n"),
  );
});

test("the base is the manifest's first training instruction; with no left/right in it another word is swapped", async () => {
  const p = await probeInstruction(countOnly({ instructions: ["Navigate to the target location"], prompt_tokens: [12] }), pixels);
  assert.equal(p.base.text, "Navigate to the target location");
  assert.ok(p.sameCount && p.sameCount.text !== p.base.text && p.sameCount.tokens === p.base.tokens, JSON.stringify(p.sameCount));
  assert.match(p.verdict, /This model cannot hear "Navigate to the target location" from ".*": it will act the same for any instruction of \d+ tokens\./);
});

test("differences are judged relative to the feature's scale; a model deaf to both is called so", async () => {
  // A large feature with float noise from the words: below 1e-6 of the scale it is no change.
  const noisy: ProbeModel = {
    ...countOnly(undefined, 1000),
    runBackbone: async (_p, t) => Float32Array.of(1e-6 * Number(t.ids[t.ids.length - 2]!), 1000, 0.01 * sum(t)),
  };
  const p = await probeInstruction(noisy, pixels);
  assert.ok(p.sameCount!.difference > 0 && p.sameCount!.difference <= p.threshold, `${p.sameCount!.difference} vs ${p.threshold}`);
  assert.equal(p.wordsMatter, false);
  const deaf: ProbeModel = { ...countOnly(), runBackbone: async () => new Float32Array(4).fill(0.3) };
  const d = await probeInstruction(deaf, pixels);
  assert.match(d.verdict, /^Neither the instruction's words \(difference 0\.0\) nor its length \(difference 0\.0\) change this model's feature/);
});

test("when no same-count variant exists the probe says so instead of guessing", async () => {
  // A tokenizer whose count is the number of characters: no candidate word has the length of "x".
  const chars: ProbeModel = {
    manifest: {},
    tokenizer: {
      encode: (text: string): PromptTokens => ({
        instruction: text,
        length: text.length,
        tokens: [...text],
        ids: BigInt64Array.from([...text], (c) => BigInt(c.charCodeAt(0))),
        mask: new BigInt64Array(text.length).fill(1n),
      }),
    },
    runBackbone: async (_p, t) => Float32Array.of(t.length / 10),
  };
  const p = await probeInstruction(chars, pixels, "x");
  assert.equal(p.sameCount, null);
  assert.equal(p.wordsMatter, null);
  assert.match(
    p.verdict,
    /^No instruction with other words but the same token count \(1\) as "x" was found, so whether the words matter was not measured; its length \(token count\) changes the feature by /,
  );
  assert.ok(probeLines(p).some((l) => l.includes("same count  none found")));
});
