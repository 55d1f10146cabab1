"""golden.json: what PyTorch computed, stage by stage, for `mobile-vla model verify` to re-run in TypeScript.

Floats are base64 of little-endian float32; frames are base64 of raw bgr8 bytes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .frames import golden_frames
from .policy_model import PolicyModel
from .preprocess import ImageSpec, pixel_values
from .prompt import Prompt, PromptTokenizer

GOLDEN_FORMAT = "mobile-vla-golden"
GOLDEN_VERSION = 1
TOLERANCE = {"pixels": 1e-6, "feature": 1e-4, "chunk": 1e-4}
# At least one non-ASCII instruction: the robot's JS tokenizer approximates one normaliser step.
EXTRA_INSTRUCTIONS = ["Navigate to the gray basket on the left", "왼쪽의 회색 바구니로 이동하세요", "Ｎａｖｉｇａｔｅ ｔｏ ｔｈｅ ｌｅｆｔ"]


def f32(x: torch.Tensor | np.ndarray) -> str:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    return base64.b64encode(np.ascontiguousarray(arr, dtype="<f4").tobytes()).decode("ascii")


@dataclass
class GoldenRun:
    frames: list[tuple[str, np.ndarray]]
    instructions: list[str]
    prompts: list[Prompt]
    pixels: list[torch.Tensor]
    features: dict[tuple[int, int], torch.Tensor]
    window_frames: list[int]
    window_outputs: list[torch.Tensor]


@torch.no_grad()
def compute_golden(model: PolicyModel, tokenizer: PromptTokenizer, image: ImageSpec, instructions: list[str]) -> GoldenRun:
    frames = golden_frames()
    prompts = [tokenizer.encode(s) for s in instructions]
    pixels = [pixel_values(f, image) for _, f in frames]
    features: dict[tuple[int, int], torch.Tensor] = {}
    for fi, px in enumerate(pixels):
        for ii, p in enumerate(prompts):
            ids, mask = p.tensors()
            features[(fi, ii)] = model.frame(px, ids, mask)[0].clone()
    W = model.spec.window
    window_frames = [k % len(frames) for k in range(W)]
    feats = torch.stack([features[(f, 0)] for f in window_frames]).unsqueeze(0)
    outputs = [model.head(feats[:, :w]).clone() for w in range(1, W + 1)]
    return GoldenRun(frames, instructions, prompts, pixels, features, window_frames, outputs)


def golden_json(run: GoldenRun, generator: str) -> dict[str, object]:
    return {
        "format": GOLDEN_FORMAT,
        "version": GOLDEN_VERSION,
        "generator": generator,
        "tolerance": TOLERANCE,
        "frames": [
            {"name": name, "width": int(f.shape[1]), "height": int(f.shape[0]), "encoding": "bgr8",
             "data": base64.b64encode(np.ascontiguousarray(f, dtype=np.uint8).tobytes()).decode("ascii")}
            for name, f in run.frames
        ],
        "instructions": [
            {"text": text, "prompt": p.text, "ids": p.ids, "mask": p.mask}
            for text, p in zip(run.instructions, run.prompts)
        ],
        "pixels": [{"frame": i, "shape": list(px.shape), "data": f32(px)} for i, px in enumerate(run.pixels)],
        "features": [{"frame": f, "instruction": i, "data": f32(v)} for (f, i), v in sorted(run.features.items())],
        "windows": [{
            "instruction": 0,
            "frames": run.window_frames,
            "outputs": [{"w": w + 1, "data": f32(o)} for w, o in enumerate(run.window_outputs)],
        }],
    }


def write_golden(path: Path, run: GoldenRun, generator: str) -> None:
    path.write_text(json.dumps(golden_json(run, generator)))
