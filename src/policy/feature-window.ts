// The last W frames' features, oldest first. A feature depends on the prompt, so
// the owner clears the window whenever the instruction changes.

export const WINDOW_FILLS = ["grow", "pad", "wait"] as const;
export type WindowFill = (typeof WINDOW_FILLS)[number];

export class FeatureWindow {
  private readonly slots: Float32Array[] = [];

  constructor(
    readonly capacity: number,
    readonly dim: number,
  ) {}

  get size(): number {
    return this.slots.length;
  }

  get full(): boolean {
    return this.slots.length === this.capacity;
  }

  push(feature: Float32Array): void {
    if (feature.length !== this.dim) throw new Error(`feature: expected ${this.dim} values, got ${feature.length}`);
    this.slots.push(feature);
    if (this.slots.length > this.capacity) this.slots.shift();
  }

  clear(): void {
    this.slots.length = 0;
  }

  /**
   * The head's input for the current fill, or null when `wait` and not full.
   * grow: the k frames seen (the causal head computes exactly what training did at
   * position k-1); pad: W rows with the oldest repeated in front.
   */
  assemble(fill: WindowFill, headWindowDynamic: boolean): { data: Float32Array; rows: number } | null {
    const k = this.slots.length;
    if (k === 0) return null;
    if (fill === "wait" && k < this.capacity) return null;
    // A head exported with a fixed window can only be fed W rows.
    const rows = fill === "grow" && headWindowDynamic ? k : this.capacity;
    const data = new Float32Array(rows * this.dim);
    const padRows = rows - k;
    for (let r = 0; r < padRows; r++) data.set(this.slots[0]!, r * this.dim);
    for (let i = 0; i < k; i++) data.set(this.slots[i]!, (padRows + i) * this.dim);
    return { data, rows };
  }
}
