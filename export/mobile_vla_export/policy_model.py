"""The exportable policy: Kosmos-2 (LoRA merged) + action token + LSTM head, all in fp32."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import Kosmos2Config, Kosmos2ForConditionalGeneration

from .checkpoint import SplitCheckpoint, merge_lora
from .errors import UsageError
from .frame_feature import FrameFeature
from .head import LstmActionHead
from .kosmos import build_kosmos
from .training_config import TrainingSpec

LM_HEAD = "text_model.lm_head.weight"
EMBED = "text_model.model.embed_tokens.weight"


@dataclass
class PolicyModel:
    kosmos: Kosmos2ForConditionalGeneration
    frame: FrameFeature
    head: LstmActionHead
    spec: TrainingSpec
    lora_layers: int

    @property
    def feature_dim(self) -> int:
        return int(self.kosmos.config.text_config.embed_dim)


def _head_for(spec: TrainingSpec, feature_dim: int) -> LstmActionHead:
    return LstmActionHead(feature_dim, spec.head_hidden, spec.head_layers, spec.chunk, spec.action_dim).eval()


def _list(keys: list[str]) -> str:
    return ", ".join(keys[:20]) + (f" ... ({len(keys)} in all)" if len(keys) > 20 else "")


def load_backbone_weights(kosmos: Kosmos2ForConditionalGeneration, weights: dict[str, torch.Tensor]) -> None:
    expected = kosmos.state_dict()
    weights = {k: v.float() for k, v in weights.items()}
    if LM_HEAD not in weights and EMBED in weights and kosmos.config.text_config.tie_word_embeddings:
        weights[LM_HEAD] = weights[EMBED]  # tied and unused for the feature; older saves omit it
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s) the Kosmos-2 config expects: {_list(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_list(unexpected)}")
        raise UsageError("checkpoint backbone vs --kosmos config.json: " + "; ".join(parts))
    wrong = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items() if tuple(weights[k].shape) != tuple(v.shape)]
    if wrong:
        raise UsageError(f"checkpoint backbone vs --kosmos config.json: shapes differ (checkpoint vs config): {_list(wrong)}")
    kosmos.load_state_dict(weights, strict=True)


def load_head_weights(head: LstmActionHead, weights: dict[str, torch.Tensor], spec: TrainingSpec) -> None:
    expected = head.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise UsageError(
            f"checkpoint act_head vs {spec.source} act_head ({spec.head_type}, hidden {spec.head_hidden}, {spec.head_layers} layers): "
            + "; ".join(x for x in (f"missing {_list(missing)}" if missing else "", f"unexpected {_list(unexpected)}" if unexpected else "") if x)
        )
    wrong = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items() if tuple(weights[k].shape) != tuple(v.shape)]
    if wrong:
        raise UsageError(f"checkpoint act_head vs {spec.source} act_head: shapes differ (checkpoint vs config): {_list(wrong)}")
    head.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)


def from_checkpoint(split: SplitCheckpoint, spec: TrainingSpec, config: Kosmos2Config, attn: str) -> PolicyModel:
    if spec.lora_enable:
        weights, n_lora = merge_lora(split.backbone, spec.lora_r, spec.lora_alpha)
    else:
        weights, n_lora = merge_lora(split.backbone, 1, 1.0)
        if n_lora:
            raise UsageError(f"checkpoint has {n_lora} LoRA layers but {spec.source} says train_setup.lora_enable false")
    kosmos = build_kosmos(config, attn)
    load_backbone_weights(kosmos, weights)
    dim = int(config.text_config.embed_dim)
    if tuple(split.action_token.shape) != (dim,):
        raise UsageError(f"checkpoint action_token: shape {tuple(split.action_token.shape)}, expected ({dim},) (the text embed_dim)")
    head = _head_for(spec, dim)
    load_head_weights(head, split.head, spec)
    return PolicyModel(kosmos, FrameFeature(kosmos, split.action_token).eval(), head, spec, n_lora)


def random_model(spec: TrainingSpec, config: Kosmos2Config, attn: str, seed: int) -> PolicyModel:
    """Random weights through the same path (the full-size synthetic model has no checkpoint)."""
    torch.manual_seed(seed)
    kosmos = build_kosmos(config, attn)
    dim = int(config.text_config.embed_dim)
    token = torch.randn(dim) * 0.02
    head = _head_for(spec, dim)
    return PolicyModel(kosmos, FrameFeature(kosmos, token).eval(), head, spec, 0)
