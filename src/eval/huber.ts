// The training loss of the continuous Mobile-VLA head, element by element:
// torch.nn.functional.huber_loss with its defaults (delta 1, reduction "mean").
// Kept on its own so the trainer score and anything else that reports "the loss
// training saw" share one definition.

/** Huber loss of one difference: 0.5 d^2 when |d| < delta, else delta (|d| - 0.5 delta). */
export function huber(d: number, delta = 1): number {
  const a = Math.abs(d);
  return a < delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
}
