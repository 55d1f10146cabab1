"""Every checkpoint key is accounted for; anything else stops the export with its name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from mobile_vla_export.checkpoint import load_state_dict, merge_lora, split_checkpoint
from mobile_vla_export.errors import UsageError
from mobile_vla_export.kosmos import read_kosmos_config
from mobile_vla_export.policy_model import from_checkpoint
from mobile_vla_export.training_config import read_training_config

from conftest import export_py


def _state(src: Path) -> dict[str, torch.Tensor]:
    return load_state_dict(src / "checkpoint.ckpt", trust=False)


def _build(src: Path, state: dict[str, torch.Tensor], ignore: list[str] | None = None) -> None:
    split = split_checkpoint(state, ignore)
    from_checkpoint(split, read_training_config(src / "config.json"), read_kosmos_config(src / "kosmos"), "eager")


def _variant(src: Path, tmp: Path, state: dict[str, torch.Tensor]) -> Path:
    shutil.copytree(src / "kosmos", tmp / "kosmos")
    shutil.copy(src / "config.json", tmp / "config.json")
    torch.save({"state_dict": state}, tmp / "checkpoint.ckpt")
    return tmp


def test_a_missing_backbone_key_is_refused_with_its_name(tiny_source: Path, tmp_path: Path) -> None:
    state = _state(tiny_source)
    gone = "text_model.model.layers.1.ffn.fc2"
    for prefix in ("model.backbone.", "model.model.base_model.model."):
        for part in (".base_layer.weight", ".base_layer.bias", ".lora_A.default.weight", ".lora_B.default.weight"):
            state.pop(prefix + gone + part)
    src = _variant(tiny_source, tmp_path, state)
    r = export_py("export", "--checkpoint", str(src / "checkpoint.ckpt"), "--config", str(src / "config.json"),
                  "--kosmos", str(src / "kosmos"), "--out", str(tmp_path / "out"), "--no-verify")
    assert r.returncode == 2, f"a usage error exits 2, got {r.returncode}: {r.stderr}"
    assert f"{gone}.weight" in r.stderr and "missing" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists(), "a refused export leaves no folder behind"


def test_an_extra_key_is_refused_with_its_name_unless_ignored(tiny_source: Path) -> None:
    state = _state(tiny_source)
    state["model.vision_resampler.latents"] = torch.zeros(4, 4)
    with pytest.raises(UsageError, match=r"model\.vision_resampler\.latents"):
        _build(tiny_source, state)
    _build(tiny_source, state, ignore=[r"^model\.vision_resampler\."])


def test_an_unknown_key_inside_the_backbone_is_refused(tiny_source: Path) -> None:
    state = _state(tiny_source)
    for prefix in ("model.backbone.", "model.model.base_model.model."):
        state[prefix + "text_model.model.extra_norm.weight"] = torch.ones(3)
    with pytest.raises(UsageError, match=r"unexpected key\(s\): text_model\.model\.extra_norm\.weight"):
        _build(tiny_source, state)


def test_a_bare_state_dict_and_the_peft_copy_alone_both_load(tiny_source: Path) -> None:
    state = _state(tiny_source)
    bare = {k[len("model."):]: v for k, v in state.items()}
    _build(tiny_source, bare)
    peft_only = {k: v for k, v in state.items() if not k.startswith("model.backbone.")}
    _build(tiny_source, peft_only)


def test_backbone_copies_that_differ_are_refused(tiny_source: Path) -> None:
    state = _state(tiny_source)
    k = "model.model.base_model.model.text_model.model.layer_norm.weight"
    state[k] = state[k].clone() + 1.0
    with pytest.raises(UsageError, match="copies differ at text_model.model.layer_norm.weight"):
        split_checkpoint(state)


def test_the_head_must_match_the_config(tiny_source: Path) -> None:
    state = _state(tiny_source)
    del state["model.act_head.velocities.mlp.6.bias"]
    with pytest.raises(UsageError, match=r"missing velocities\.mlp\.6\.bias"):
        _build(tiny_source, state)


def test_lora_merge_is_w_plus_alpha_over_r_b_a() -> None:
    w, a, b = torch.randn(6, 5), torch.randn(2, 5), torch.randn(6, 2)
    merged, n = merge_lora({"x.base_layer.weight": w, "x.lora_A.default.weight": a, "x.lora_B.default.weight": b, "y.weight": w}, 2, 16)
    assert n == 1
    assert torch.allclose(merged["x.weight"], w + 8.0 * (b @ a)), "scaling is lora_alpha / r"
    assert merged["y.weight"] is w
    with pytest.raises(UsageError, match="rank 2 but the training config says lora_r 4"):
        merge_lora({"x.base_layer.weight": w, "x.lora_A.default.weight": a, "x.lora_B.default.weight": b}, 4, 16)


def test_a_pickled_object_is_not_unpickled_without_consent(tmp_path: Path) -> None:
    f = tmp_path / "odd.ckpt"
    torch.save({"state_dict": {"model.action_token": torch.zeros(2)}, "callbacks": {"x": Path("/")}}, f)
    with pytest.raises(UsageError, match="--trust-checkpoint"):
        load_state_dict(f, trust=False)
    assert "model.action_token" in load_state_dict(f, trust=True)


def test_not_a_mobile_vla_checkpoint(tmp_path: Path) -> None:
    f = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(2)}, f)
    with pytest.raises(UsageError, match="not a Mobile-VLA training checkpoint"):
        split_checkpoint(load_state_dict(f, trust=False))


def test_a_legacy_format_state_dict_loads_without_mmap(tiny_source: Path, tmp_path: Path) -> None:
    f = tmp_path / "legacy.pt"
    torch.save(_state(tiny_source), f, _use_new_zipfile_serialization=False)
    _build(tiny_source, load_state_dict(f, trust=False))
