"""Bad input: a clear message naming it, exit 2, and nothing written or replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mobile_vla_export.errors import UsageError
from mobile_vla_export.training_config import december_2025_config, training_spec_from_dict

from conftest import export_py


def _args(src: Path, out: Path) -> list[str]:
    return ["export", "--checkpoint", str(src / "checkpoint.ckpt"), "--config", str(src / "config.json"),
            "--kosmos", str(src / "kosmos"), "--out", str(out), "--no-verify"]


def test_an_existing_folder_is_never_replaced_without_force(tiny_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    r = export_py(*_args(tiny_source, out))
    assert r.returncode == 2 and "--force" in r.stderr, r.stderr
    assert (out / "manifest.json").read_text() == "{}", "the existing folder is untouched"


def test_missing_inputs_are_named(tmp_path: Path) -> None:
    r = export_py("export", "--out", str(tmp_path / "m"))
    assert r.returncode == 2 and "--checkpoint, --config, --kosmos required" in r.stderr, r.stderr
    r = export_py("export", "--checkpoint", str(tmp_path / "nope.ckpt"), "--config", str(tmp_path / "c.json"),
                  "--kosmos", str(tmp_path), "--out", str(tmp_path / "m"))
    assert r.returncode == 2 and "c.json: no such file" in r.stderr, r.stderr
    r = export_py("export", "--synthetic", "huge", "--out", str(tmp_path / "m"))
    assert r.returncode == 2 and "invalid choice" in r.stderr, r.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["act_head"].update(type="MobileVLAClassificationDecoder"), "act_head.type: 'MobileVLAClassificationDecoder' is not supported"),
        (lambda c: c["act_head"].update(history_type="pre"), "act_head.history_type: expected 'post'"),
        (lambda c: c.update(window_size=0), "window_size: expected a positive integer"),
        (lambda c: c["act_head"].update(action_dim=3), "act_head.action_dim: expected 2"),
        (lambda c: c["act_head"].update(window_size=6), "act_head.window_size: 6 disagrees with the top-level window_size 8"),
    ],
)
def test_config_fields_are_checked_by_name(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = json.loads(json.dumps(december_2025_config()))
    edit(raw)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        training_spec_from_dict(raw, "t1.json")


def test_the_december_config_reads_as_the_reference_says() -> None:
    s = training_spec_from_dict(december_2025_config(), "t1.json")
    assert (s.window, s.chunk, s.head_hidden, s.head_layers, s.lora_r, s.lora_alpha) == (8, 10, 512, 4, 32, 16.0)
    assert s.lora_scaling == 0.5
