// Instruction -> the ids and attention mask the backbone was trained with. The
// template, special tokens and padding come from the manifest because the real
// models' action-token position depends on exactly these (REFERENCE.md).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { instructionTooLong } from "./instruction-length.js";
import type { TokenizerSpec } from "./manifest.js";

export interface PromptTokens {
  /** The instruction these tokens were made from (before the template). */
  instruction: string;
  /** Token ids, padded as the manifest says. */
  ids: BigInt64Array;
  /** 1 on real tokens, 0 on padding. */
  mask: BigInt64Array;
  /** Real (unpadded) token count. */
  length: number;
  tokens: string[];
}

/**
 * The part of @huggingface/tokenizers we use. Its published typings re-export
 * without file extensions, which NodeNext cannot resolve, so they arrive as `any`.
 */
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[]; attention_mask: number[] };
}
const HfTokenizerClass = Tokenizer as unknown as new (tokenizer: object, config: object) => HfTokenizer;

export class TokenizerError extends Error {
  override name = "TokenizerError";
}

export class PromptTokenizer {
  private readonly cache = new Map<string, PromptTokens>();

  private constructor(
    private readonly tokenizer: HfTokenizer,
    readonly spec: TokenizerSpec,
    readonly file: string,
  ) {}

  /** Loads tokenizer.json (and tokenizer_config.json when the folder has one). */
  static async load(dir: string, spec: TokenizerSpec): Promise<PromptTokenizer> {
    const file = path.join(dir, spec.file);
    const json = await readJson(file, true);
    const configFile = path.join(dir, "tokenizer_config.json");
    const config = (await readJson(configFile, false)) ?? {};
    let tokenizer: HfTokenizer;
    try {
      tokenizer = new HfTokenizerClass(json as object, config as object);
    } catch (e) {
      throw new TokenizerError(`${file}: not a usable Hugging Face tokenizer.json: ${(e as Error).message}`);
    }
    return new PromptTokenizer(tokenizer, spec, file);
  }

  prompt(instruction: string): string {
    // Training built the prompt from s.strip() (RoboVLMs get_text_function, "kosmos").
    return this.spec.template.replaceAll("{instruction}", instruction.trim());
  }

  /** Ids and mask for an instruction; cached because the robot repeats one instruction for minutes. */
  encode(instruction: string): PromptTokens {
    const hit = this.cache.get(instruction);
    if (hit) return hit;
    const tooLong = instructionTooLong(instruction);
    if (tooLong) throw new TokenizerError(`instruction: ${tooLong}; shorten the instruction`);
    const text = this.prompt(instruction);
    const enc = this.tokenizer.encode(text, { add_special_tokens: this.spec.add_special_tokens });
    const n = enc.ids.length;
    if (n === 0) throw new TokenizerError(`instruction ${JSON.stringify(instruction)}: the prompt tokenised to no tokens`);
    if (n > this.spec.max_length) {
      throw new TokenizerError(
        `instruction: the prompt has ${n} tokens, more than tokenizer.max_length ${this.spec.max_length} in the manifest; shorten the instruction`,
      );
    }
    const pad = this.spec.padding;
    const total = pad.kind === "fixed" ? pad.length : n;
    if (n > total) {
      throw new TokenizerError(`instruction: the prompt has ${n} tokens but tokenizer.padding.length is ${total}; shorten the instruction`);
    }
    const ids = new BigInt64Array(total);
    const mask = new BigInt64Array(total);
    for (let i = 0; i < n; i++) {
      ids[i] = BigInt(enc.ids[i]!);
      mask[i] = 1n;
    }
    if (pad.kind === "fixed") ids.fill(BigInt(pad.pad_id), n);
    const out: PromptTokens = { instruction, ids, mask, length: n, tokens: enc.tokens };
    // Instructions come from people and topics; keep the cache from growing without bound.
    if (this.cache.size >= 64) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(instruction, out);
    return out;
  }
}

async function readJson(file: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (!required) return undefined;
    throw new TokenizerError(`${file}: cannot read the tokenizer (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}
