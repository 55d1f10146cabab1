"""A Mobile-VLA training checkpoint -> merged backbone weights, head weights, action token.

Key layout of the training code (REFERENCE.md, "checkpoint"): a Lightning `.ckpt`
with `state_dict` holding `model.backbone.*` (the LoRA-injected Kosmos-2), the same
backbone again under `model.model.base_model.model.*` (the PeftModel registered as a
second submodule), `model.act_head.*` and `model.action_token`. Every key is
accounted for: anything unexpected or missing stops the export with its list, so a
checkpoint of another architecture never exports silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import UsageError

BACKBONE_PREFIXES = ("backbone.", "model.base_model.model.")
HEAD_PREFIX = "act_head."
ACTION_TOKEN = "action_token"
LORA_PARTS = (".base_layer.weight", ".base_layer.bias", ".lora_A.default.weight", ".lora_B.default.weight")


@dataclass
class SplitCheckpoint:
    backbone: dict[str, torch.Tensor]
    head: dict[str, torch.Tensor]
    action_token: torch.Tensor
    backbone_source: str
    ignored: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def load_state_dict(path: Path, trust: bool) -> dict[str, torch.Tensor]:
    """Reads a .ckpt / .pt / .safetensors file and returns its flat tensor state dict."""
    if not path.is_file():
        raise UsageError(f"--checkpoint {path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    try:
        try:
            # Memory-mapped: a 7 GB checkpoint is paged in as its tensors are used, not copied first.
            obj = torch.load(str(path), map_location="cpu", weights_only=not trust, mmap=True)
        except RuntimeError as e:
            if "mmap" not in str(e):
                raise
            obj = torch.load(str(path), map_location="cpu", weights_only=not trust)  # pre-zipfile torch.save format
    except Exception as e:
        if not trust and "weights_only" in str(e):
            raise UsageError(
                f"--checkpoint {path}: it holds Python objects beyond tensors, which torch refuses to unpickle safely. "
                "If you trust the file (your own training run), pass --trust-checkpoint."
            ) from None
        raise UsageError(f"--checkpoint {path}: cannot be read by torch.load ({e})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    elif isinstance(obj, dict) and isinstance(obj.get("model_state_dict"), dict):
        obj = obj["model_state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise UsageError(f"--checkpoint {path}: expected a Lightning checkpoint with 'state_dict' or a flat state dict of tensors")
    return obj


def _root_prefix(keys: list[str]) -> str:
    """'model.' for Lightning checkpoints of the training module, '' for a bare model state dict."""
    for root in ("model.", ""):
        if any(k.startswith(root + HEAD_PREFIX) for k in keys) or (root + ACTION_TOKEN) in keys:
            return root
    raise UsageError(
        "checkpoint: found neither 'model.act_head.*' nor 'act_head.*' keys, so this is not a Mobile-VLA "
        f"training checkpoint (first keys: {', '.join(keys[:5])})"
    )


def split_checkpoint(state: dict[str, torch.Tensor], ignore: list[str] | None = None) -> SplitCheckpoint:
    keys = list(state)
    root = _root_prefix(keys)
    ignore_res = [re.compile(p) for p in (ignore or [])]
    copies: dict[str, dict[str, torch.Tensor]] = {p: {} for p in BACKBONE_PREFIXES}
    head: dict[str, torch.Tensor] = {}
    token: torch.Tensor | None = None
    unexpected: list[str] = []
    ignored: list[str] = []
    for k, v in state.items():
        rel = k[len(root):] if k.startswith(root) else None
        if rel is None:
            unexpected.append(k)
            continue
        for p in BACKBONE_PREFIXES:
            if rel.startswith(p):
                copies[p][rel[len(p):]] = v
                break
        else:
            if rel.startswith(HEAD_PREFIX):
                head[rel[len(HEAD_PREFIX):]] = v
            elif rel == ACTION_TOKEN:
                token = v
            elif any(r.search(k) for r in ignore_res):
                ignored.append(k)
            else:
                unexpected.append(k)
    if unexpected:
        raise UsageError(
            f"checkpoint: {len(unexpected)} unexpected key(s) that this exporter does not know how to place: "
            f"{', '.join(unexpected[:20])}{' ...' if len(unexpected) > 20 else ''}. "
            "If they are known to be unused at inference, pass --ignore-keys REGEX."
        )
    if token is None:
        raise UsageError(f"checkpoint: missing key {root}{ACTION_TOKEN} (the learned action token)")
    first, second = (copies[p] for p in BACKBONE_PREFIXES)
    if first and second:
        _check_same_backbone(first, second, root)
        backbone, source = first, root + BACKBONE_PREFIXES[0]
    elif first or second:
        backbone, source = (first, root + BACKBONE_PREFIXES[0]) if first else (second, root + BACKBONE_PREFIXES[1])
    else:
        raise UsageError(f"checkpoint: no backbone keys ({root}{BACKBONE_PREFIXES[0]}* or {root}{BACKBONE_PREFIXES[1]}*)")
    return SplitCheckpoint(backbone, head, token.float(), source + "*", ignored)


def _check_same_backbone(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], root: str) -> None:
    # Both are the same parameters saved twice; if they differ the checkpoint is not what we think it is.
    if a.keys() != b.keys():
        only = sorted(set(a) ^ set(b))
        raise UsageError(f"checkpoint: the two backbone copies ({root}backbone.* and {root}model.base_model.model.*) have different keys: {', '.join(only[:10])}")
    for k in a:
        x, y = a[k], b[k]
        if x.data_ptr() == y.data_ptr() and x.shape == y.shape:
            continue
        if x.shape != y.shape or not torch.equal(x, y):
            raise UsageError(f"checkpoint: the two backbone copies differ at {k}")


def merge_lora(backbone: dict[str, torch.Tensor], lora_r: int, lora_alpha: float) -> tuple[dict[str, torch.Tensor], int]:
    """W + (alpha / r) * B @ A (float32) for every LoRA-injected Linear; plain keys pass through.

    Returns the weights under transformers' own key names and the number of merged layers.
    """
    out: dict[str, torch.Tensor] = {}
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for k, v in backbone.items():
        part = next((p for p in LORA_PARTS if k.endswith(p)), None)
        if part is None:
            if ".lora_" in k or ".base_layer." in k:
                raise UsageError(f"checkpoint: backbone key {k} looks like an adapter part this exporter does not merge (only plain LoRA A/B is supported)")
            out[k] = v
        else:
            layers.setdefault(k[: -len(part)], {})[part] = v
    scaling = lora_alpha / lora_r
    for name, parts in layers.items():
        missing = [name + p for p in (LORA_PARTS[0], LORA_PARTS[2], LORA_PARTS[3]) if p not in parts]
        if missing:
            raise UsageError(f"checkpoint: LoRA layer {name} lacks {', '.join(missing)}")
        w, a, b = parts[LORA_PARTS[0]].float(), parts[LORA_PARTS[2]].float(), parts[LORA_PARTS[3]].float()
        if a.shape[0] != lora_r or b.shape[1] != lora_r:
            raise UsageError(
                f"checkpoint: LoRA layer {name} has rank {a.shape[0]} but the training config says lora_r {lora_r}; "
                "the merge scale alpha/r would be wrong"
            )
        if (b.shape[0], a.shape[1]) != tuple(w.shape):
            raise UsageError(f"checkpoint: LoRA layer {name}: B @ A is {b.shape[0]}x{a.shape[1]} but the weight is {tuple(w.shape)}")
        out[name + ".weight"] = w + scaling * (b @ a)
        if LORA_PARTS[1] in parts:
            out[name + ".bias"] = parts[LORA_PARTS[1]]
    return out, len(layers)
