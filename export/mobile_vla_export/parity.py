"""onnxruntime on the exported graphs against PyTorch on the same golden inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .golden import GoldenRun
from .onnx_export import BACKBONE_OUTPUT, HEAD_INPUT, HEAD_OUTPUT


@dataclass(frozen=True)
class Parity:
    feature_max_abs: float
    chunk_max_abs: float
    features: dict[tuple[int, int], np.ndarray]


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def onnx_features(backbone: Path, run: GoldenRun) -> dict[tuple[int, int], np.ndarray]:
    s = session(backbone)
    out: dict[tuple[int, int], np.ndarray] = {}
    for (fi, ii) in run.features:
        ids, mask = run.prompts[ii].tensors()
        feeds = {"pixel_values": run.pixels[fi].numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
        out[(fi, ii)] = s.run([BACKBONE_OUTPUT], feeds)[0][0]
    return out


def onnx_window_outputs(head: Path, window_features: np.ndarray) -> list[np.ndarray]:
    """window_features (W, D) -> head output for every window length 1..W."""
    s = session(head)
    return [s.run([HEAD_OUTPUT], {HEAD_INPUT: window_features[None, :w].astype(np.float32)})[0] for w in range(1, len(window_features) + 1)]


def check_parity(backbone: Path, head: Path, run: GoldenRun) -> Parity:
    feats = onnx_features(backbone, run)
    fmax = max(float(np.abs(feats[k] - run.features[k].numpy()).max()) for k in feats)
    window = np.stack([run.features[(f, 0)].numpy() for f in run.window_frames])
    outs = onnx_window_outputs(head, window)
    cmax = max(float(np.abs(o - t.numpy()).max()) for o, t in zip(outs, run.window_outputs))
    return Parity(fmax, cmax, feats)
