// A few-hundred-piece tokenizer in Hugging Face tokenizer.json format, built the way
// Kosmos-2's XLM-RoBERTa SentencePiece tokenizer is (Unigram model, Metaspace, <s> $A </s>,
// Kosmos-2's added tokens such as <grounding>), so the tiny model folder exercises the same
// tokenizer code paths as the real one while staying a few kilobytes.

export const TINY_TOKENIZER_FILE = "tokenizer.json";
/** @huggingface/tokenizers wants a config object next to tokenizer.json; see `TokenizerConfigJson`. */
export const TINY_TOKENIZER_CONFIG_FILE = "tokenizer_config.json";

/** SentencePiece's word-boundary marker. */
export const METASPACE = "\u2581";

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

type TemplatePiece = { SpecialToken: { id: string; type_id: number } } | { Sequence: { id: "A" | "B"; type_id: number } };

export interface TokenizerJson {
  version: "1.0";
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: {
    type: "Sequence";
    normalizers: ({ type: "Precompiled"; precompiled_charsmap: string } | { type: "Replace"; pattern: { Regex: string }; content: string })[];
  };
  pre_tokenizer: { type: "Metaspace"; replacement: string; prepend_scheme: "always"; split: boolean };
  post_processor: {
    type: "TemplateProcessing";
    single: TemplatePiece[];
    pair: TemplatePiece[];
    special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
  };
  decoder: { type: "Metaspace"; replacement: string; prepend_scheme: "always"; split: boolean };
  model: { type: "Unigram"; unk_id: number; vocab: [string, number][]; byte_fallback: boolean };
}

/**
 * What a Hugging Face tokenizer_config.json carries for Kosmos-2 (its special-token names,
 * the tokenizer class, the maximum length). @huggingface/tokenizers reads only eos_token
 * (Unigram's lattice end node), clean_up_tokenization_spaces (decode), remove_space,
 * do_lowercase_and_remove_accent and additional_special_tokens; none of them changes the
 * ids this tokenizer produces, so `{}` works as well (the test checks that).
 */
export interface TokenizerConfigJson {
  tokenizer_class: string;
  bos_token: string;
  eos_token: string;
  unk_token: string;
  sep_token: string;
  cls_token: string;
  pad_token: string;
  mask_token: string;
  additional_special_tokens: string[];
  clean_up_tokenization_spaces: boolean;
  model_max_length: number;
}

export interface TinyTokenizer {
  tokenizer: TokenizerJson;
  config: TokenizerConfigJson;
  /** One more than the largest id (added tokens included): the embedding table's row count. */
  vocabSize: number;
  ids: { bos: number; pad: number; eos: number; unk: number; mask: number; grounding: number; image: number; imageEnd: number };
}

const SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"] as const;

/**
 * Kosmos-2's own added tokens, after XLM-R's <mask>. The 1024 <patch_index_NNNN> tokens
 * the real tokenizer also has are left out: nothing in this package produces them.
 */
const KOSMOS_TOKENS = [
  "</doc>",
  "<image>",
  "</image>",
  "</chunk>",
  "</line>",
  "<line>",
  "<grounding>",
  "<phrase>",
  "</phrase>",
  "<object>",
  "</object>",
  "</delimiter_of_multi_objects/>",
] as const;

/** Words that prompts and the episode instructions use, most frequent first. */
const WORDS = [
  "the",
  "a",
  "to",
  "of",
  "on",
  "an",
  "and",
  "in",
  "at",
  "is",
  "it",
  "with",
  "from",
  "then",
  "image",
  "robot",
  "left",
  "right",
  "go",
  "forward",
  "backward",
  "back",
  "stop",
  "turn",
  "move",
  "navigate",
  "gray",
  "grey",
  "basket",
  "box",
  "cup",
  "bottle",
  "chair",
  "table",
  "door",
  "wall",
  "around",
  "obstacle",
  "side",
  "reach",
  "toward",
  "towards",
  "front",
  "behind",
  "straight",
  "avoid",
  "target",
  "object",
  "red",
  "blue",
  "green",
  "white",
  "black",
  "yellow",
  "orange",
  "brown",
  "path",
  "find",
  "follow",
  "near",
  "far",
  "center",
  "middle",
  "slowly",
  "slow",
  "fast",
  "corner",
  "room",
  "hallway",
  "ball",
  "person",
  "step",
  "stay",
  "keep",
  "drive",
  "approach",
  "pass",
  "between",
  "two",
  "one",
  "first",
  "second",
  "end",
  "goal",
];
/** Sentence-initial forms, as a cased SentencePiece vocabulary has them. */
const CAPITALISED = [
  "An",
  "A",
  "The",
  "Navigate",
  "Go",
  "Move",
  "Turn",
  "Stop",
  "Avoid",
  "Reach",
  "Find",
  "Follow",
  "Drive",
  "Approach",
  "Keep",
  "Stay",
  "Pass",
];
/** Word-internal continuations, so plurals and -ing forms split into a known word and a suffix. */
const SUFFIXES = ["s", "es", "ed", "ing", "er", "ly", "ion", "en"];
const PUNCTUATION = [".", ",", "!", "?", "'", '"', "-", ":", ";", "(", ")", "/"];
const LOWER = "abcdefghijklmnopqrstuvwxyz".split("");
const UPPER = LOWER.map((c) => c.toUpperCase());
const DIGITS = "0123456789".split("");

/**
 * A Precompiled charsmap that maps nothing: a 256-unit, all-zero double-array trie with an
 * empty string table. The Rust crate needs a decodable blob here (it rejects null); the
 * JavaScript library ignores the blob and applies its fixed NFKC-based approximation.
 */
function emptyCharsmap(): string {
  const units = 256;
  const blob = new Uint8Array(4 + units * 4);
  new DataView(blob.buffer).setUint32(0, units * 4, true);
  return Buffer.from(blob).toString("base64");
}

/** Log-probabilities rounded to 4 decimals so the JSON text is short and identical everywhere. */
const score = (x: number) => Math.round(x * 10000) / 10000;

function pieces(): [string, number][] {
  const scored = new Map<string, number>();
  const add = (piece: string, s: number) => {
    if (!scored.has(piece)) scored.set(piece, score(s));
  };
  // Whole words score far above any spelling of them from single characters
  // (at least -8.2 against -7.5 - 9 per extra letter), so Viterbi picks the word.
  WORDS.forEach((w, rank) => add(METASPACE + w, -4 - rank * 0.05));
  CAPITALISED.forEach((w, rank) => add(METASPACE + w, -6 - rank * 0.05));
  SUFFIXES.forEach((s, rank) => add(s, -6.5 - rank * 0.05));
  add(METASPACE, -5);
  PUNCTUATION.forEach((p, i) => {
    add(p, -6 - i * 0.01);
    add(METASPACE + p, -8 - i * 0.01);
  });
  LOWER.forEach((c, i) => {
    add(METASPACE + c, -7.5 - i * 0.01);
    add(c, -9 - i * 0.01);
  });
  DIGITS.forEach((d, i) => {
    add(METASPACE + d, -8 - i * 0.01);
    add(d, -8.5 - i * 0.01);
  });
  UPPER.forEach((c, i) => {
    add(METASPACE + c, -8.5 - i * 0.01);
    add(c, -9.5 - i * 0.01);
  });
  // SentencePiece lists pieces by descending score; the stable sort keeps ties in insertion order.
  return [...scored.entries()].sort((a, b) => b[1] - a[1]);
}

const addedToken = (id: number, content: string, lstrip = false): AddedTokenJson => ({
  id,
  content,
  single_word: false,
  lstrip,
  rstrip: false,
  normalized: false,
  special: true,
});

/** Builds the tokenizer; the result is the same on every call. */
export function buildTinyTokenizer(): TinyTokenizer {
  // As XLM-R's converter lays it out: <s> <pad> </s> <unk> (score 0), the pieces, then <mask>.
  const vocab: [string, number][] = [...SPECIALS.map((s): [string, number] => [s, 0]), ...pieces(), ["<mask>", 0]];
  const mask = vocab.length - 1;
  const added: AddedTokenJson[] = [
    ...SPECIALS.map((s, i) => addedToken(i, s)),
    addedToken(mask, "<mask>", true),
    ...KOSMOS_TOKENS.map((t, i) => addedToken(mask + 1 + i, t)),
  ];
  const idOf = (content: string) => added.find((t) => t.content === content)!.id;
  const special = (id: string): TemplatePiece => ({ SpecialToken: { id, type_id: 0 } });
  const sequence = (id: "A" | "B"): TemplatePiece => ({ Sequence: { id, type_id: 0 } });

  const tokenizer: TokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Precompiled", precompiled_charsmap: emptyCharsmap() },
        { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
      ],
    },
    pre_tokenizer: { type: "Metaspace", replacement: METASPACE, prepend_scheme: "always", split: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [special("<s>"), sequence("A"), special("</s>")],
      pair: [special("<s>"), sequence("A"), special("</s>"), special("</s>"), sequence("B"), special("</s>")],
      special_tokens: {
        "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] },
        "<s>": { id: "<s>", ids: [0], tokens: ["<s>"] },
      },
    },
    decoder: { type: "Metaspace", replacement: METASPACE, prepend_scheme: "always", split: true },
    model: { type: "Unigram", unk_id: 3, vocab, byte_fallback: false },
  };
  const config: TokenizerConfigJson = {
    tokenizer_class: "XLMRobertaTokenizer",
    bos_token: "<s>",
    eos_token: "</s>",
    unk_token: "<unk>",
    sep_token: "</s>",
    cls_token: "<s>",
    pad_token: "<pad>",
    mask_token: "<mask>",
    additional_special_tokens: [...KOSMOS_TOKENS],
    clean_up_tokenization_spaces: true,
    model_max_length: 2048,
  };
  return {
    tokenizer,
    config,
    vocabSize: Math.max(...added.map((t) => t.id)) + 1,
    ids: {
      bos: 0,
      pad: 1,
      eos: 2,
      unk: 3,
      mask,
      grounding: idOf("<grounding>"),
      image: idOf("<image>"),
      imageEnd: idOf("</image>"),
    },
  };
}
