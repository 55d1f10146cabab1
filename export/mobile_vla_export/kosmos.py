"""transformers' own Kosmos-2, built from the Kosmos-2 folder the training config names."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Kosmos2Config, Kosmos2ForConditionalGeneration

from .errors import UsageError

ATTN_IMPLEMENTATIONS = ("eager", "sdpa")


def read_kosmos_config(folder: Path) -> Kosmos2Config:
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise UsageError(f"--kosmos {folder}: no config.json (expected the kosmos-2-patch14-224 folder named by the training config's model_path)")
    try:
        config = Kosmos2Config.from_pretrained(str(folder))
    except Exception as e:  # transformers raises several types for a bad config
        raise UsageError(f"--kosmos {cfg}: not a Kosmos-2 config ({e})") from None
    if getattr(config, "model_type", "") != "kosmos-2":
        raise UsageError(f"--kosmos {cfg}: model_type is {getattr(config, 'model_type', None)!r}, expected 'kosmos-2'")
    return config


def build_kosmos(config: Kosmos2Config, attn: str) -> Kosmos2ForConditionalGeneration:
    """An fp32 model in eval mode with the chosen attention implementation; weights are loaded by the caller."""
    if attn not in ATTN_IMPLEMENTATIONS:
        raise UsageError(f"--attn: expected one of {', '.join(ATTN_IMPLEMENTATIONS)}, got {attn!r}")
    model = Kosmos2ForConditionalGeneration._from_config(config, attn_implementation=attn, dtype=torch.float32)
    return model.eval()
