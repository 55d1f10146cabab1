"""Frame -> pixel tensor as a Mobile-VLA model version was trained.

December 2025 (default): the stored bgr8 array goes through `Image.fromarray` as it is
(no channel swap, so the model sees BGR), Pillow BILINEAR to SxS, /255, no mean/std:
the 2025-12-04 dataset code, whatever the config's image_mean/image_std say.
`clip`: RGB with CLIP mean/std, as the February 2026 code does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PREPROCESS_CHOICES = ("dec2025", "clip")


@dataclass(frozen=True)
class ImageSpec:
    size: int
    channel_order: Literal["bgr", "rgb"]
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None

    def manifest(self) -> dict[str, object]:
        return {
            "channel_order": self.channel_order, "rotate": 0, "width": self.size, "height": self.size, "resize": "bilinear",
            "rescale": 1 / 255, "mean": list(self.mean) if self.mean else None, "std": list(self.std) if self.std else None,
        }


def image_spec(kind: str, size: int) -> ImageSpec:
    if kind == "dec2025":
        return ImageSpec(size, "bgr", None, None)
    if kind == "clip":
        return ImageSpec(size, "rgb", CLIP_MEAN, CLIP_STD)
    raise ValueError(kind)


def pixel_values(frame_bgr: np.ndarray, spec: ImageSpec) -> torch.Tensor:
    """frame (H, W, 3) uint8 in BGR order -> (1, 3, S, S) float32."""
    arr = frame_bgr if spec.channel_order == "bgr" else frame_bgr[:, :, ::-1]
    img = Image.fromarray(np.ascontiguousarray(arr).astype(np.uint8)).resize((spec.size, spec.size), Image.BILINEAR)
    x = torch.from_numpy(np.array(img)).float() / 255.0
    if spec.mean is not None and spec.std is not None:
        x = (x - torch.tensor(spec.mean)) / torch.tensor(spec.std)
    return x.permute(2, 0, 1).unsqueeze(0).contiguous()
