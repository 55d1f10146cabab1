"""int8 backbone beside the fp32 one, and the accuracy report written with it.

Dynamic quantisation of the MatMul weights, written here rather than with
onnxruntime's quantize_dynamic because that loads every weight at once (17 GB peak
for the full-size backbone on a 24 GB machine); this streams one weight at a time
(external_data.py) and emits the graph pattern onnxruntime's own quantiser emits,
which its optimiser fuses into MatMulIntegerToFloat:

    DynamicQuantizeLinear(A) -> A_q (uint8), A_scale, A_zp
    MatMulInteger(A_q, W_q, A_zp, W_zp) -> Cast(float) -> Mul(A_scale * W_scale)

Weights: symmetric int8, one scale per output channel (per-tensor scales were
measured at feature cosine 0.996 on the full-size model: a few channels with large
weights set the scale for all). MatMuls whose node name matches an `exclude` pattern
stay fp32 (the README says which and why).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from .external_data import DataWriter, external_location, move_tensor, read_tensor
from .golden import GoldenRun
from .parity import onnx_features, onnx_window_outputs

# The latent-query attention of the image -> text projection (q, k, v, out: ~2 % of the
# FLOPs): every image feature passes through it, and quantising it alone took the full-size
# model's feature cosine from 0.9992 to 0.9925 (its `dense` input layer quantises harmlessly).
DEFAULT_EXCLUDE = [r"image_to_text_projection/x_attn/"]
MOVE_THRESHOLD = 0.15  # the base's deadzone; same rule as src/eval/direction.ts


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, N) float -> (K, N) int8 and (N,) scales, symmetric per output column in [-127, 127]
    (onnxruntime's QInt8 weight convention, so a zero point of 0 is exact)."""
    absmax = np.abs(w).max(axis=0).astype(np.float32)
    scale = np.where(absmax > 0, absmax / np.float32(127.0), 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize_backbone(fp32: Path, out: Path, exclude: list[str]) -> list[str]:
    """Writes `out` (+ `out`.data when fp32 has external data); returns the MatMuls kept in fp32."""
    model = onnx.load(str(fp32), load_external_data=False)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    uses: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    pats = [re.compile(p) for p in exclude]
    external = any(external_location(t) is not None for t in g.initializer)
    writer = DataWriter(out.with_name(out.name + ".data")) if external else None

    def store(name: str, values: np.ndarray) -> TensorProto:
        return writer.tensor(name, values) if writer else onnx.numpy_helper.from_array(np.array(values), name)

    kept: list[str] = []
    nodes: list[onnx.NodeProto] = []
    new_inits: list[TensorProto] = []
    quantized_weights: set[str] = set()
    dql: dict[str, tuple[str, str, str]] = {}
    try:
        for n in g.node:
            w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
            if w is None or len(w.dims) != 2 or w.data_type != TensorProto.FLOAT:
                nodes.append(n)
                continue
            if any(p.search(n.name) for p in pats):
                kept.append(n.name)
                nodes.append(n)
                continue
            a = n.input[0]
            if a not in dql:
                dql[a] = (f"{a}_quantized", f"{a}_scale", f"{a}_zero_point")
                nodes.append(helper.make_node("DynamicQuantizeLinear", [a], list(dql[a]), name=f"{a}_QuantizeLinear"))
            a_q, a_scale, a_zp = dql[a]
            q, scale = quantize_weight(np.asarray(read_tensor(w, fp32.parent), dtype=np.float32))
            wq, ws, wz = f"{w.name}_quantized", f"{w.name}_scale", f"{w.name}_zero_point"
            if wq not in quantized_weights:
                new_inits += [store(wq, q), onnx.numpy_helper.from_array(scale, ws),
                              onnx.numpy_helper.from_array(np.zeros(scale.shape, np.int8), wz)]
                quantized_weights.add(wq)
            base, out_name = n.name or n.output[0], n.output[0]
            nodes += [
                helper.make_node("Mul", [a_scale, ws], [f"{base}_quant_scales_mul:0"], name=f"{base}_quant_scales_mul"),
                helper.make_node("MatMulInteger", [a_q, wq, a_zp, wz], [f"{out_name}_output_quantized"], name=f"{base}_quant"),
                helper.make_node("Cast", [f"{out_name}_output_quantized"], [f"{out_name}_output_quantized_cast_output"],
                                 name=f"{out_name}_output_quantized_cast", to=TensorProto.FLOAT),
                helper.make_node("Mul", [f"{out_name}_output_quantized_cast_output", f"{base}_quant_scales_mul:0"], [out_name],
                                 name=f"{base}_quant_output_scale_mul"),
            ]
            uses[w.name] -= 1
        for t in g.initializer:  # everything still used keeps its fp32 values
            if uses.get(t.name, 0) > 0:
                new_inits.append(store(t.name, read_tensor(t, fp32.parent)) if external else t)
        if writer:  # Constant values too, so the int8 graph needs nothing of the fp32 files
            for n in nodes:
                for a in n.attribute:
                    if a.type == onnx.AttributeProto.TENSOR and external_location(a.t) is not None:
                        move_tensor(a.t, fp32.parent, writer)
    finally:
        if writer:
            writer.close()
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    if not any(o.domain in ("", "ai.onnx") and o.version >= 11 for o in model.opset_import):
        raise ValueError("the backbone graph's opset is below 11 (DynamicQuantizeLinear)")
    onnx.save_model(model, str(out))
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
