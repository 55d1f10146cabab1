// Wraps a policy to record how long each real inference took (wall time), which
// a replay on a virtual clock cannot see otherwise.
import { performance } from "node:perf_hooks";
import type { StampedImage } from "../msgs/image.js";
import type { ActionChunk } from "../policy/chunk.js";
import type { ChunkPolicy, PolicyCounters } from "../policy/types.js";

export class TimedPolicy implements ChunkPolicy {
  readonly latenciesMs: number[] = [];

  constructor(private readonly inner: ChunkPolicy) {}

  get instruction(): string | null {
    return this.inner.instruction;
  }

  get stepS(): number {
    return this.inner.stepS;
  }

  setInstruction(text: string): void {
    this.inner.setInstruction(text);
  }

  reset(): void {
    this.inner.reset();
  }

  counters(): PolicyCounters {
    return this.inner.counters();
  }

  async step(frame: StampedImage): Promise<ActionChunk | null> {
    const t0 = performance.now();
    try {
      return await this.inner.step(frame);
    } finally {
      this.latenciesMs.push(performance.now() - t0);
    }
  }
}
