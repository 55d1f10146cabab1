// Benchmarks of the replay, recorder and episode paths, kept apart from the
// policy figures so each part can grow its own.
export interface BenchContext {
  want: (name: string) => boolean;
  tmp: string;
  emit: (record: Record<string, unknown>) => void;
}

export async function extraBenches(_ctx: BenchContext): Promise<void> {}
