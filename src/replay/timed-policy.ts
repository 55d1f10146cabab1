// Wraps a policy to record what a replay on a virtual clock cannot see otherwise:
// how long each real inference took (wall time), and what became of each frame it
// was given (an action, a decode error, a NaN/Inf output, another failure), so an
// evaluation can tell a source the policy never acted on from one it did.
import { performance } from "node:perf_hooks";
import type { RunOutcome } from "../eval/types.js";
import { InvalidOutputError } from "../model/invalid-output.js";
import { ImageError } from "../msgs/image-error.js";
import type { StampedImage } from "../msgs/image.js";
import type { ActionChunk } from "../policy/chunk.js";
import type { ChunkPolicy, PolicyCounters } from "../policy/types.js";
import { errorText } from "../util/errors.js";

/** The step counts of RunOutcome; the runner adds what only it knows (frames received). */
export type StepOutcome = Omit<RunOutcome, "framesReceived">;

export class TimedPolicy implements ChunkPolicy {
  readonly latenciesMs: number[] = [];
  private readonly counts = { steps: 0, decodeErrors: 0, invalidOutputs: 0, otherErrors: 0, actions: 0 };
  private instructed = false;
  private readonly firstErrors = new Map<string, string>();

  constructor(private readonly inner: ChunkPolicy) {}

  get instruction(): string | null {
    return this.inner.instruction;
  }

  get stepS(): number {
    return this.inner.stepS;
  }

  setInstruction(text: string): void {
    this.inner.setInstruction(text);
    this.instructed = true;
  }

  reset(): void {
    this.inner.reset();
  }

  counters(): PolicyCounters {
    return this.inner.counters();
  }

  /** What became of the frames so far. */
  outcome(): StepOutcome {
    return { ...this.counts, instructed: this.instructed, firstErrors: [...this.firstErrors.values()] };
  }

  async step(frame: StampedImage): Promise<ActionChunk | null> {
    const t0 = performance.now();
    this.counts.steps++;
    try {
      const chunk = await this.inner.step(frame);
      if (chunk?.invalid) {
        this.counts.invalidOutputs++;
        this.noteFirst("invalid", "the head's output held NaN/Inf");
      } else if (chunk) this.counts.actions++;
      return chunk;
    } catch (e) {
      if (e instanceof ImageError) this.counts.decodeErrors++;
      else if (e instanceof InvalidOutputError) this.counts.invalidOutputs++;
      else this.counts.otherErrors++;
      this.noteFirst(e instanceof ImageError ? "decode" : e instanceof InvalidOutputError ? "invalid" : "other", errorText(e));
      throw e;
    } finally {
      this.latenciesMs.push(performance.now() - t0);
    }
  }

  private noteFirst(kind: string, message: string): void {
    if (!this.firstErrors.has(kind)) this.firstErrors.set(kind, message);
  }
}
