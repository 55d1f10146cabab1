"""Initializer bytes moved between ONNX files one tensor at a time.

A full-size backbone holds 6.6 GB of weights: loading them all to re-save or
quantise the graph doubled the exporter's peak memory (20 GB measured on a 24 GB
machine). Here each tensor is read through a memory map and appended to the output's
data file, so the peak is one tensor, whatever the model's size.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ALIGN = 4096  # page-aligned offsets let onnxruntime memory-map each tensor
EMBED_BELOW = 1024  # tiny tensors (scales, shapes) stay inside the protobuf


def external_location(t: TensorProto) -> dict[str, str] | None:
    if t.data_location != TensorProto.EXTERNAL:
        return None
    return {e.key: e.value for e in t.external_data}


def read_tensor(t: TensorProto, base: Path) -> np.ndarray:
    """The tensor's values; external data is memory-mapped, not read into memory."""
    loc = external_location(t)
    if loc is None:
        return numpy_helper.to_array(t)
    dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
    offset = int(loc.get("offset", 0))
    count = int(np.prod(t.dims)) if len(t.dims) else 1
    return np.memmap(base / loc["location"], dtype=dtype, mode="r", offset=offset, shape=tuple(t.dims) or (count,))


class DataWriter:
    """Appends tensors to one `<graph>.data` file and points their protos at it."""

    def __init__(self, data_file: Path) -> None:
        self.path = data_file
        self.file: BinaryIO = data_file.open("wb")
        self.offset = 0

    def tensor(self, name: str, values: np.ndarray) -> TensorProto:
        arr = np.asarray(values, order="C")  # ascontiguousarray would turn scalars into 1-d arrays
        if arr.nbytes < EMBED_BELOW:
            return numpy_helper.from_array(np.array(arr), name)
        pad = (-self.offset) % ALIGN
        if pad:
            self.file.write(b"\0" * pad)
            self.offset += pad
        t = TensorProto()
        t.name = name
        t.data_type = helper.np_dtype_to_tensor_dtype(arr.dtype)
        t.dims.extend(arr.shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.path.name), ("offset", str(self.offset)), ("length", str(arr.nbytes))):
            e = t.external_data.add()
            e.key, e.value = key, value
        # In slices: a memory-mapped source is paged in and out instead of held whole.
        flat = arr.reshape(-1).view(np.uint8)
        for i in range(0, flat.size, 1 << 26):
            self.file.write(flat[i:i + (1 << 26)].tobytes())
        self.offset += arr.nbytes
        return t

    def close(self) -> None:
        self.file.close()


def attribute_tensors(graph: onnx.GraphProto) -> Iterator[TensorProto]:
    """Tensors held by node attributes (Constant values), subgraphs included: torch stores large ones externally too."""
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                yield a.t
            elif a.type == onnx.AttributeProto.TENSORS:
                yield from a.tensors
            elif a.type == onnx.AttributeProto.GRAPH:
                yield from all_tensors(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from all_tensors(g)


def all_tensors(graph: onnx.GraphProto) -> Iterator[TensorProto]:
    yield from graph.initializer
    yield from attribute_tensors(graph)


def move_tensor(t: TensorProto, base: Path, writer: DataWriter) -> None:
    """Rewrites t in place so its values live in writer's file (or inside the protobuf when tiny)."""
    t.CopyFrom(writer.tensor(t.name, read_tensor(t, base)))


def resave(src: Path, dst: Path, metadata: dict[str, str], external: bool) -> None:
    """Copies src (with its external data, wherever torch put it) to dst: one data file, or none."""
    model = onnx.load(str(src), load_external_data=False)
    onnx.helper.set_model_props(model, metadata)
    if not external:
        onnx.load_external_data_for_model(model, str(src.parent))
        onnx.save_model(model, str(dst))
        return
    writer = DataWriter(dst.with_name(dst.name + ".data"))
    try:
        for t in list(all_tensors(model.graph)):
            move_tensor(t, src.parent, writer)
    finally:
        writer.close()
    onnx.save_model(model, str(dst))


def initializer_bytes(path: Path) -> int:
    model = onnx.load(str(path), load_external_data=False)
    total = 0
    for t in model.graph.initializer:
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        total += int(np.prod(t.dims)) * itemsize if len(t.dims) else itemsize
    return total
