// One error type for every way a camera message can be unusable, so callers (the
// policy node's diagnostics, the bag reader's skip-and-count) can tell a bad frame
// from a bug and report which message field was wrong.

/** The sensor_msgs field a problem is about. */
export type ImageField = "encoding" | "width" | "height" | "step" | "data" | "format";

export class ImageError extends Error {
  /**
   * @param field the offending field, also the message prefix (`image.<field>: ...`)
   * @param detail the value found and what was expected
   */
  constructor(
    readonly field: ImageField,
    readonly detail: string,
  ) {
    super(`image.${field}: ${detail}`);
    this.name = "ImageError";
  }
}
