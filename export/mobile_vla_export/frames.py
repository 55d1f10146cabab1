"""Deterministic raw camera frames (bgr8, not at the model's input size) for golden vectors."""

from __future__ import annotations

import numpy as np

WIDTH, HEIGHT = 320, 240


def golden_frames() -> list[tuple[str, np.ndarray]]:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    gradient = np.stack([(x * 255 // (WIDTH - 1)), (y * 255 // (HEIGHT - 1)), ((x + y) % 256)], axis=-1).astype(np.uint8)
    gradient[60:140, 200:280] = (30, 160, 220)  # a block, so the resize sees edges
    checker = ((((x // 20) + (y // 20)) % 2) * 200 + 30).astype(np.uint8)
    scene = np.stack([checker, checker // 2, 255 - checker], axis=-1)
    disc = (x - 110) ** 2 + (y - 130) ** 2 < 50**2
    scene[disc] = (20, 40, 240)
    rng = np.random.default_rng(20251204)
    noise = rng.integers(0, 256, size=(HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    noise = np.repeat(np.repeat(noise, 8, axis=0), 8, axis=1)
    return [("gradient", gradient), ("checker_disc", np.ascontiguousarray(scene)), ("blocks_noise", np.ascontiguousarray(noise))]
