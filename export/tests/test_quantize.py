"""The streaming int8 quantiser computes what onnxruntime's own quantize_dynamic computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnxruntime.quantization import QuantType, quantize_dynamic

from mobile_vla_export.quantize import direction_class, quantize_backbone, quantize_weight


def _run(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def test_same_numbers_as_onnxruntime_quantize_dynamic(exported: Path, tmp_path: Path) -> None:
    fp32 = exported / "backbone.onnx"
    ours = tmp_path / "ours.onnx"
    theirs = tmp_path / "theirs.onnx"
    kept = quantize_backbone(fp32, ours, [r"image_to_text_projection"])
    quantize_dynamic(str(fp32), str(theirs), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"],
                     nodes_to_exclude=kept, extra_options={"MatMulConstBOnly": True})
    rng = np.random.default_rng(0)
    feeds = {"pixel_values": rng.random((1, 3, 28, 28), dtype=np.float32),
             "input_ids": np.array([[0, 5, 9, 12, 2]], dtype=np.int64), "attention_mask": np.ones((1, 5), dtype=np.int64)}
    a, b, ref = _run(ours, feeds), _run(theirs, feeds), _run(fp32, feeds)
    assert np.abs(a - b).max() <= 1e-5, f"ours vs onnxruntime's quantiser: {np.abs(a - b).max():.3g}"
    assert np.abs(a - ref).max() > 0, "the int8 graph really is quantised"
    ops = {n.op_type for n in onnx.load(str(ours)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops, ops
    assert kept and all("image_to_text_projection" in k for k in kept), kept


def test_per_channel_symmetric_weights() -> None:
    w = np.array([[0.5, -2.0], [-0.25, 1.0]], dtype=np.float32)
    q, scale = quantize_weight(w)
    assert q.dtype == np.int8 and scale.shape == (2,)
    np.testing.assert_allclose(scale, [0.5 / 127, 2.0 / 127], rtol=1e-6)
    assert q.min() >= -127 and q.max() <= 127
    np.testing.assert_allclose(q * scale, w, atol=scale.max() / 2 + 1e-7)


@pytest.mark.parametrize(("v", "cls"), [((0.1, 0.1), 0), ((1, 0), 1), ((1, 1), 2), ((0, 1), 3), ((-1, 0), 5), ((0, -1), 7), ((1, -1), 8)])
def test_direction_classes_follow_the_typescript_rule(v: tuple[float, float], cls: int) -> None:
    assert direction_class(*v) == cls


def test_external_data_layout_and_a_self_contained_int8_graph(tiny_source: Path, tmp_path: Path) -> None:
    """The layout every full-size backbone gets (> 1 GB), forced on the tiny model."""
    from conftest import export_py, run_cli

    out = tmp_path / "ext"
    r = export_py("export", "--checkpoint", str(tiny_source / "checkpoint.ckpt"), "--config", str(tiny_source / "config.json"),
                  "--kosmos", str(tiny_source / "kosmos"), "--out", str(out), "--external-data", "--quantize", "int8")
    assert r.returncode == 0, r.stdout + r.stderr
    for graph, data in (("backbone.onnx", "backbone.onnx.data"), ("backbone.int8.onnx", "backbone.int8.onnx.data")):
        assert (out / data).is_file(), f"{data} is written"
        m = onnx.load(str(out / graph), load_external_data=False)
        from mobile_vla_export.external_data import all_tensors, external_location

        places = {external_location(t)["location"] for t in all_tensors(m.graph) if external_location(t)}
        assert places == {data}, f"{graph} must read only {data}, reads {places}"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("backbone")) == [
        "backbone.int8.onnx", "backbone.int8.onnx.data", "backbone.onnx", "backbone.onnx.data"], "no per-tensor files"
    run_cli("model", "verify", str(out), "--precision", "int8")
