"""int8 backbone beside the fp32 one, and the accuracy report written with it.

Dynamic quantisation of the MatMul weights (activations quantised per call), with
per-channel weight scales: per-tensor scales were measured at feature cosine 0.996 on
the full-size model, because a few output channels with large weights set the scale
for all. Nodes matching `exclude` patterns stay fp32 (see the README for the choice).
"""

from __future__ import annotations

import gc
import json
import math
import re
from pathlib import Path

import numpy as np
import onnx

from .golden import GoldenRun
from .parity import onnx_features, onnx_window_outputs

# The image -> text boundary (dense + latent-query attention of image_to_text_projection):
# ~1 % of the FLOPs, and every image feature passes through it.
DEFAULT_EXCLUDE = [r"image_to_text_projection"]
MOVE_THRESHOLD = 0.15  # the base's deadzone; same rule as src/eval/direction.ts


def quantize_backbone(fp32: Path, out: Path, exclude: list[str], external: bool) -> list[str]:
    """Writes `out`; returns the names of the MatMul nodes kept in fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32), load_external_data=False)
    pats = [re.compile(p) for p in exclude]
    kept = [n.name for n in model.graph.node if n.op_type == "MatMul" and any(p.search(n.name) for p in pats)]
    del model
    gc.collect()
    quantize_dynamic(
        str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
        nodes_to_exclude=kept, use_external_data_format=external,
        extra_options={"MatMulConstBOnly": True},
    )
    return kept


def direction_class(x: float, y: float) -> int:
    """0 = stop (inside the deadzone), 1..8 = the 45-degree sectors counter-clockwise from +x."""
    if math.hypot(x, y) <= MOVE_THRESHOLD:
        return 0
    sector = math.floor(math.atan2(y, x) / (math.pi / 4) + 0.5)
    return (sector % 8) + 1


def accuracy_report(fp32_backbone: Path, int8_backbone: Path, head: Path, run: GoldenRun) -> dict[str, object]:
    """int8 against fp32 (both in onnxruntime) on the golden frames and instructions."""
    ref = onnx_features(fp32_backbone, run)
    q = onnx_features(int8_backbone, run)
    cos = []
    for k in ref:
        a, b = ref[k].astype(np.float64), q[k].astype(np.float64)
        cos.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    window_ref = np.stack([ref[(f, 0)] for f in run.window_frames])
    window_q = np.stack([q[(f, 0)] for f in run.window_frames])
    out_ref = onnx_window_outputs(head, window_ref)
    out_q = onnx_window_outputs(head, window_q)
    chunk_err = max(float(np.abs(a - b).max()) for a, b in zip(out_ref, out_q))
    agree = total = 0
    for a, b in zip(out_ref, out_q):
        for sa, sb in zip(a.reshape(-1, 2), b.reshape(-1, 2)):
            agree += direction_class(*sa) == direction_class(*sb)
            total += 1
    return {
        "compared_with": "fp32 backbone.onnx in onnxruntime, golden frames x instructions",
        "feature_cosine_min": min(cos),
        "feature_cosine_mean": sum(cos) / len(cos),
        "chunk_max_abs_error": chunk_err,
        "direction_class_agreement": agree / total,
        "direction_steps": total,
    }


def write_report(path: Path, report: dict[str, object]) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")
