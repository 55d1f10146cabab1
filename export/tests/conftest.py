"""Shared fixtures: one tiny training-layout checkpoint and its exports, built once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

EXPORT_DIR = Path(__file__).resolve().parents[1]
REPO = EXPORT_DIR.parent
sys.path.insert(0, str(EXPORT_DIR))

from mobile_vla_export.synthetic import tiny_kosmos_folder, training_checkpoint  # noqa: E402
from mobile_vla_export.training_config import december_2025_config  # noqa: E402

CLI_JS = REPO / "dist" / "src" / "cli" / "main.js"


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The package's own CLI (node), as a user runs it."""
    if not CLI_JS.is_file():
        raise AssertionError(f"{CLI_JS} is missing: run `npx tsc -p tsconfig.json` (npm test does) before the Python tests")
    r = subprocess.run(["node", str(CLI_JS), *args], capture_output=True, text=True, cwd=REPO, env={**os.environ, "NO_COLOR": "1"})
    if check and r.returncode != 0:
        raise AssertionError(f"mobile-vla {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def export_py(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(EXPORT_DIR)}
    return subprocess.run([sys.executable, "-m", "mobile_vla_export", *args], capture_output=True, text=True, cwd=REPO, env=env)


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kosmos/ + config.json + checkpoint.ckpt in the training code's layout."""
    root = tmp_path_factory.mktemp("tiny-source")
    config = tiny_kosmos_folder(root / "kosmos")
    raw = december_2025_config(kosmos_path=str(root / "kosmos"))
    raw["image_size"] = config.vision_config.image_size
    (root / "config.json").write_text(json.dumps(raw))
    torch.save(training_checkpoint(config, raw, seed=7), root / "checkpoint.ckpt")
    return root


def _export(src: Path, out: Path, *extra: str) -> Path:
    r = export_py("export", "--checkpoint", str(src / "checkpoint.ckpt"), "--config", str(src / "config.json"),
                  "--kosmos", str(src / "kosmos"), "--out", str(out), *extra)
    if r.returncode != 0:
        raise AssertionError(f"export failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return out


@pytest.fixture(scope="session")
def exported(tiny_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported with the defaults (eager) plus int8, verified by the TypeScript runtime."""
    return _export(tiny_source, tmp_path_factory.mktemp("exports") / "eager", "--quantize", "int8")


@pytest.fixture(scope="session")
def exported_sdpa(tiny_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tiny_source, tmp_path_factory.mktemp("exports") / "sdpa", "--attn", "sdpa")
