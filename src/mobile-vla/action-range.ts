// The Mobile-VLA training code clamps every action axis to [-1, 1] (the teleop's
// 1.15 becomes 1); ground truth is compared in the same range.
import type { Vec2 } from "../eval/types.js";

export function clampUnit(v: Vec2): Vec2 {
  return [Math.max(-1, Math.min(1, v[0])), Math.max(-1, Math.min(1, v[1]))];
}
