// The one home of the rule "this instruction's token count was never seen in training".
// The December 2025 Kosmos-2 models overwrite the prompt's text with image embeddings, so
// the instruction's words never reach the feature; its token COUNT does, through the
// attention mask (REFERENCE.md, "the instruction text is ignored"). An instruction whose
// prompt has another count than the training prompts moves the feature somewhere training
// never put it, however sensible its words. The node, eval and verify all warn through this.
import type { Manifest } from "./manifest.js";
import type { PromptTokens } from "./tokenize.js";

/** "10", "9 or 11", "9, 10 or 12". */
export function countList(counts: readonly number[]): string {
  if (counts.length <= 1) return counts.join("");
  return `${counts.slice(0, -1).join(", ")} or ${counts[counts.length - 1]}`;
}

/**
 * A warning when the manifest records the training prompts' token counts and this
 * instruction's prompt has none of them; null otherwise (also when the folder does not
 * record the counts: nothing to compare with).
 */
export function instructionTokenWarning(manifest: Pick<Manifest, "training">, tokens: Pick<PromptTokens, "instruction" | "length">): string | null {
  const trained = manifest.training?.prompt_tokens ?? [];
  if (trained.length === 0 || trained.includes(tokens.length)) return null;
  return (
    `instruction ${JSON.stringify(tokens.instruction)}: ${tokens.length} tokens but the model was trained on prompts of ` +
    `${countList(trained)} tokens; for this model the token count changes the feature`
  );
}
