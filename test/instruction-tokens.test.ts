import { test } from "node:test";
import assert from "node:assert/strict";
import { countList, instructionTokenWarning } from "../src/model/instruction-tokens.js";

const tokens = (instruction: string, length: number) => ({ instruction, length });

test("a count the training prompts never had is warned about, naming the instruction and both counts", () => {
  const m = { training: { instructions: ["Navigate to the target location"], prompt_tokens: [10] } };
  assert.equal(
    instructionTokenWarning(m, tokens("Navigate to the gray basket on the left", 12)),
    'instruction "Navigate to the gray basket on the left": 12 tokens but the model was trained on prompts of 10 tokens; for this model the token count changes the feature',
  );
  assert.equal(instructionTokenWarning(m, tokens("Navigate to the target place", 10)), null, "a trained count is fine whatever the words");
  const several = { training: { instructions: [], prompt_tokens: [9, 10, 12] } };
  assert.match(instructionTokenWarning(several, tokens("x", 11))!, /trained on prompts of 9, 10 or 12 tokens/);
  assert.equal(countList([9, 11]), "9 or 11");
});

test("no warning when the folder does not record the training counts", () => {
  assert.equal(instructionTokenWarning({}, tokens("anything", 40)), null);
  assert.equal(instructionTokenWarning({ training: { instructions: ["a"], prompt_tokens: [] } }, tokens("anything", 40)), null);
});
