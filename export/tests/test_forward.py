"""The exported per-frame forward is the training code's forward (on the unmerged LoRA model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, get_peft_model

from mobile_vla_export.checkpoint import load_state_dict, split_checkpoint
from mobile_vla_export.frames import golden_frames
from mobile_vla_export.kosmos import build_kosmos, read_kosmos_config
from mobile_vla_export.policy_model import PolicyModel, from_checkpoint
from mobile_vla_export.preprocess import image_spec, pixel_values
from mobile_vla_export.prompt import PromptTokenizer
from mobile_vla_export.synthetic import lora_target_names
from mobile_vla_export.training_config import read_training_config
from training_reference import training_feature

SAME_LENGTH = ("Navigate to the gray basket on the left", "Navigate to the gray basket on the right")
LONGER = "Navigate to the gray basket on the left please"


def _peft_model(src: Path, attn: str) -> tuple[torch.nn.Module, torch.Tensor]:
    raw = json.loads((src / "config.json").read_text())
    kosmos = build_kosmos(read_kosmos_config(src / "kosmos"), attn)
    setup = raw["train_setup"]
    peft_model = get_peft_model(kosmos, LoraConfig(r=setup["lora_r"], lora_alpha=setup["lora_alpha"], target_modules=lora_target_names(kosmos)))
    state = torch.load(src / "checkpoint.ckpt", weights_only=True)["state_dict"]
    prefix = "model.model.base_model.model."
    peft_model.base_model.model.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, strict=True)
    return peft_model.base_model.model.eval(), state["model.action_token"]


def _merged(src: Path, attn: str) -> PolicyModel:
    split = split_checkpoint(load_state_dict(src / "checkpoint.ckpt", trust=False))
    return from_checkpoint(split, read_training_config(src / "config.json"), read_kosmos_config(src / "kosmos"), attn)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_branch_free_forward_matches_training_code_on_unmerged_lora(tiny_source: Path, attn: str) -> None:
    peft_kosmos, token = _peft_model(tiny_source, attn)
    merged = _merged(tiny_source, attn)
    tok = PromptTokenizer(tiny_source / "kosmos")
    spec = image_spec("dec2025", merged.spec.image_size)
    worst = 0.0
    for _, frame in golden_frames():
        px = pixel_values(frame, spec)
        for text in (*SAME_LENGTH, LONGER, "왼쪽의 회색 바구니로 이동하세요"):
            ids, mask = tok.encode(text).tensors()
            with torch.no_grad():
                ours = merged.frame(px, ids, mask)
            ref = training_feature(peft_kosmos, token, px, ids, mask)
            worst = max(worst, float((ours - ref).abs().max()))
    assert worst <= 1e-5, f"exported forward vs the training code's forward ({attn}): max abs {worst:.3g}"


def test_the_instruction_words_do_not_reach_the_feature_only_its_length(tiny_source: Path) -> None:
    merged = _merged(tiny_source, "eager")
    tok = PromptTokenizer(tiny_source / "kosmos")
    px = pixel_values(golden_frames()[0][1], image_spec("dec2025", merged.spec.image_size))
    a, b, c = (tok.encode(t) for t in (*SAME_LENGTH, LONGER))
    assert len(a.ids) == len(b.ids) and a.ids != b.ids, "the probe needs same-length prompts with different words"
    with torch.no_grad():
        fa, fb, fc = (merged.frame(px, *p.tensors()) for p in (a, b, c))
    assert float((fa - fb).abs().max()) == 0.0, "same token count, other words: the training forward overwrites the text"
    assert float((fa - fc).abs().max()) > 1e-4, "a different token count attends a different number of image positions"


def test_eager_and_sdpa_compute_different_features(tiny_source: Path) -> None:
    tok = PromptTokenizer(tiny_source / "kosmos")
    e, s = _merged(tiny_source, "eager"), _merged(tiny_source, "sdpa")
    px = pixel_values(golden_frames()[1][1], image_spec("dec2025", e.spec.image_size))
    ids, mask = tok.encode(SAME_LENGTH[0]).tensors()
    with torch.no_grad():
        d = float((e.frame(px, ids, mask) - s.frame(px, ids, mask)).abs().max())
    assert d > 1e-4, f"the latent-query attention is causal under sdpa and full under eager, so features must differ (got {d:.3g})"
