"""manifest.json for an exported folder (the TypeScript side validates it: src/model/manifest.ts)."""

from __future__ import annotations

from typing import Any

from . import __version__
from .onnx_export import BACKBONE_INPUTS, BACKBONE_OUTPUT, HEAD_INPUT, HEAD_OUTPUT
from .preprocess import ImageSpec
from .prompt import MAX_LENGTH, TEMPLATE
from .training_config import TrainingSpec

BACKBONE_FILE = "backbone.onnx"
INT8_FILE = "backbone.int8.onnx"
HEAD_FILE = "head.onnx"


def graph_metadata(spec: TrainingSpec, feature_dim: int, checkpoint_sha256: str, precision: str | None) -> dict[str, str]:
    """metadata_props written into every graph so a hand-edited manifest cannot silently disagree with it."""
    meta = {
        "mobile_vla.window": str(spec.window),
        "mobile_vla.chunk": str(spec.chunk),
        "mobile_vla.feature_dim": str(feature_dim),
        "mobile_vla.action_dim": str(spec.action_dim),
        "mobile_vla.head_kind": "continuous",
        "mobile_vla.checkpoint_sha256": checkpoint_sha256,
        "mobile_vla.exporter_version": __version__,
    }
    if precision:
        meta["mobile_vla.precision"] = precision
    return meta


def build_manifest(*, name: str, description: str, spec: TrainingSpec, feature_dim: int, image: ImageSpec,
                   instructions: list[str], prompt_tokens: list[int], variants: dict[str, str],
                   export_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "format_version": 1,
        "name": name,
        "description": description,
        "window": spec.window,
        "chunk": spec.chunk,
        "feature_dim": feature_dim,
        "action_axes": ["linear_x", "linear_y"],
        "chunk_position": "last",
        "action_step_s": 0.4,
        "head": {
            "kind": "continuous",
            # Training clamped the labels to [norm_min, norm_max] and the head ends in tanh.
            "denormalize": {"kind": "minmax", "min": [spec.norm_min] * 2, "max": [spec.norm_max] * 2},
        },
        "image": image.manifest(),
        "tokenizer": {
            "file": "tokenizer.json",
            "template": TEMPLATE,
            "add_special_tokens": True,
            "padding": {"kind": "none"},
            "max_length": MAX_LENGTH,
        },
        "backbone": {
            "file": BACKBONE_FILE,
            "inputs": dict(zip(("pixel_values", "input_ids", "attention_mask"), BACKBONE_INPUTS)),
            "output": BACKBONE_OUTPUT,
            **({"variants": variants} if variants else {}),
        },
        "head_graph": {"file": HEAD_FILE, "input": HEAD_INPUT, "output": HEAD_OUTPUT},
        "training": {"instructions": instructions, "prompt_tokens": prompt_tokens},
        "export": export_info,
    }
