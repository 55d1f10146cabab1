"""The training config JSON (Mobile-VLA / RoboVLMs layout) -> the facts the export needs.

Only what the exporter relies on is read, and every field is checked with a message
that names the file and the field, so a config of another architecture fails here
rather than as a shape error deep inside torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

SUPPORTED_HEADS = ("MobileVLALSTMDecoder",)


@dataclass(frozen=True)
class TrainingSpec:
    source: str
    name: str
    window: int
    chunk: int
    action_dim: int
    head_type: str
    head_hidden: int
    head_layers: int
    lora_enable: bool
    lora_r: int
    lora_alpha: float
    image_size: int
    kosmos_path: str
    norm_min: float
    norm_max: float

    @property
    def lora_scaling(self) -> float:
        # peft's scaling for plain LoRA (no rsLoRA): alpha / r.
        return self.lora_alpha / self.lora_r


def _get(obj: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    if key not in obj:
        if default is not None:
            return default
        raise UsageError(f"{where}.{key}: missing")
    v = obj[key]
    if isinstance(v, bool) and kind in (int, float, (int, float)):
        raise UsageError(f"{where}.{key}: expected a number, got {json.dumps(v)}")
    if not isinstance(v, kind):
        raise UsageError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {json.dumps(v)}")
    return v


def _positive_int(obj: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    v = _get(obj, key, where, int, default)
    if v <= 0:
        raise UsageError(f"{where}.{key}: expected a positive integer, got {v}")
    return v


def read_training_config(path: Path) -> TrainingSpec:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"--config {path}: not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"--config {path}: expected a JSON object")
    return training_spec_from_dict(raw, str(path))


def training_spec_from_dict(raw: dict[str, Any], source: str) -> TrainingSpec:
    where = source
    window = _positive_int(raw, "window_size", where)
    chunk = _positive_int(raw, "fwd_pred_next_n", where)
    head = _get(raw, "act_head", where, dict)
    hw = f"{where}: act_head"
    head_type = _get(head, "type", hw, str)
    if head_type not in SUPPORTED_HEADS:
        raise UsageError(
            f"{hw}.type: {head_type!r} is not supported by this exporter (supported: {', '.join(SUPPORTED_HEADS)}); "
            "the December 2025 Mobile-VLA models use MobileVLALSTMDecoder"
        )
    for key, expected in (("action_space", "continuous"), ("history_type", "post"), ("down_sample", "none")):
        v = head.get(key, expected)
        if v != expected:
            raise UsageError(f"{hw}.{key}: expected {expected!r} (the per-frame 'post' forward this exporter reproduces), got {v!r}")
    if head.get("latent", 1) != 1:
        raise UsageError(f"{hw}.latent: expected 1, got {head.get('latent')!r}")
    for key, top in (("window_size", window), ("fwd_pred_next_n", chunk)):
        if key in head and head[key] != top:
            raise UsageError(f"{hw}.{key}: {head[key]} disagrees with the top-level {key} {top}")
    action_dim = _positive_int(head, "action_dim", hw)
    if action_dim != 2:
        raise UsageError(f"{hw}.action_dim: expected 2 (linear_x, linear_y), got {action_dim}")
    setup = raw.get("train_setup", {})
    if not isinstance(setup, dict):
        raise UsageError(f"{where}: train_setup: expected an object")
    lora_enable = bool(setup.get("lora_enable", False))
    lora_r = _positive_int(setup, "lora_r", f"{where}: train_setup", 64) if lora_enable else 1
    lora_alpha = float(_get(setup, "lora_alpha", f"{where}: train_setup", (int, float), 16)) if lora_enable else 1.0
    if setup.get("use_rslora"):
        raise UsageError(f"{where}: train_setup.use_rslora: rsLoRA scaling is not supported")
    tok = raw.get("tokenizer", {})
    if isinstance(tok, dict) and tok.get("tokenizer_type", "kosmos") != "kosmos":
        raise UsageError(f"{where}: tokenizer.tokenizer_type: expected 'kosmos', got {tok.get('tokenizer_type')!r}")
    norm_min = float(raw.get("norm_min", -1.0))
    norm_max = float(raw.get("norm_max", 1.0))
    if not norm_max > norm_min:
        raise UsageError(f"{where}: norm_max {norm_max} must be greater than norm_min {norm_min}")
    return TrainingSpec(
        source=source,
        name=str(raw.get("exp_name") or raw.get("task_name") or Path(source).stem),
        window=window,
        chunk=chunk,
        action_dim=action_dim,
        head_type=head_type,
        head_hidden=_positive_int(head, "hidden_size", hw),
        head_layers=_positive_int(head, "num_layers", hw, 4),
        lora_enable=lora_enable,
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        image_size=_positive_int(raw, "image_size", where, 224),
        kosmos_path=str(raw.get("model_path", "")),
        norm_min=norm_min,
        norm_max=norm_max,
    )


def december_2025_config(kosmos_path: str = ".vlms/kosmos-2-patch14-224") -> dict[str, Any]:
    """The fields of Mobile_VLA/configs/*_20251204.json this exporter reads (synthetic models, tests)."""
    return {
        "exp_name": "mobile_vla_kosmos2_frozen_lora_leftright_20251204",
        "window_size": 8,
        "fwd_pred_next_n": 10,
        "image_size": 224,
        # Listed in the config but never applied by the 2025-12-04 dataset code (REFERENCE.md).
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "model_path": kosmos_path,
        "train_setup": {"freeze_backbone": True, "lora_enable": True, "lora_r": 32, "lora_alpha": 16, "lora_dropout": 0.1},
        "act_head": {
            "type": "MobileVLALSTMDecoder", "hidden_size": 512, "action_dim": 2, "down_sample": "none", "latent": 1,
            "fwd_pred_next_n": 10, "window_size": 8, "action_space": "continuous", "with_history": True, "history_type": "post",
        },
        "tokenizer": {"type": "AutoProcessor", "tokenizer_type": "kosmos", "max_text_len": 256},
        "norm_action": True,
        "norm_min": -1.0,
        "norm_max": 1.0,
    }
