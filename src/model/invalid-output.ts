// A graph that ran but produced NaN or Inf. The head's NaN/Inf marks its chunk
// invalid (the robot stops on it); a backbone feature with NaN/Inf is refused where
// it is produced, because the head turns it into finite, plausible-looking actions.
export class InvalidOutputError extends Error {
  override name = "InvalidOutputError";

  constructor(
    /** The graph file that produced it. */
    readonly file: string,
    /** What was wrong, e.g. "feature value 17 of 2048 is NaN". */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** Index of the first NaN/Inf value, or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}
