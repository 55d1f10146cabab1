"""Both graphs to ONNX, with the contract's tensor names and metadata_props.

Backbones above ~2 GB must keep their weights outside the protobuf: the graph is
always exported into a scratch folder and re-saved with every weight in one
`<file>.data` beside it when large, so the model folder never fills with per-tensor files.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import torch

from .external_data import initializer_bytes, resave
from .frame_feature import FrameFeature
from .head import LstmActionHead

OPSET = 17
EXTERNAL_DATA_BYTES = 1 << 30
BACKBONE_INPUTS = ("pixel_values", "input_ids", "attention_mask")
BACKBONE_OUTPUT = "feature"
HEAD_INPUT = "features"
HEAD_OUTPUT = "actions"


def _finish(tmp_file: Path, out_file: Path, metadata: dict[str, str], external: bool | None) -> None:
    """external: True/False forces the layout; None decides by size."""
    for stale in (out_file, out_file.with_name(out_file.name + ".data")):
        stale.unlink(missing_ok=True)
    if external is None:
        external = initializer_bytes(tmp_file) > EXTERNAL_DATA_BYTES
    resave(tmp_file, out_file, metadata, external=external)


def _export(module: torch.nn.Module, args: tuple[torch.Tensor, ...], out_file: Path, names_in: list[str], names_out: list[str],
            dynamic: dict[str, dict[int, str]], metadata: dict[str, str], external: bool | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="mobile-vla-export-") as tmp:
        tmp_file = Path(tmp) / out_file.name
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python-constant shapes are expected here
            torch.onnx.export(module, args, str(tmp_file), input_names=names_in, output_names=names_out,
                              dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True, dynamo=False)
        _finish(tmp_file, out_file, metadata, external)


def export_backbone(frame: FrameFeature, example: tuple[torch.Tensor, torch.Tensor, torch.Tensor], out_file: Path,
                    metadata: dict[str, str], external: bool | None = None) -> None:
    _export(frame, example, out_file, list(BACKBONE_INPUTS), [BACKBONE_OUTPUT],
            {"input_ids": {1: "tokens"}, "attention_mask": {1: "tokens"}}, metadata, external)


def export_head(head: LstmActionHead, window: int, feature_dim: int, out_file: Path, metadata: dict[str, str]) -> None:
    example = torch.zeros(1, window, feature_dim)
    _export(head, (example,), out_file, [HEAD_INPUT], [HEAD_OUTPUT], {HEAD_INPUT: {1: "window"}, HEAD_OUTPUT: {1: "window"}}, metadata)
