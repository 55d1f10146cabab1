// How long an instruction may be, in characters: the one rule the CLI, the node and the
// tokenizer apply. An instruction is a sentence; the tokenizer's recursion overflows the
// stack on megabytes of text, and the prompt must fit tokenizer.max_length tokens anyway,
// so anything longer is refused before the tokenizer sees it.

export const MAX_INSTRUCTION_CHARS = 4096;

/** Why an instruction is too long, or null when it is not. */
export function instructionTooLong(text: string): string | null {
  return text.length > MAX_INSTRUCTION_CHARS ? `${text.length} characters, more than the ${MAX_INSTRUCTION_CHARS} an instruction may have` : null;
}
