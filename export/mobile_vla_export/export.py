"""Checkpoint (or a synthetic model) -> a verified model folder.

Written into `<out>.partial-*` beside the target and renamed into place only when
every step passed, so a failed export never leaves a folder that looks like a model,
and an existing folder is replaced only with --force.
"""

from __future__ import annotations

import gc
import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import transformers

from . import __version__
from .checkpoint import load_state_dict, sha256_file, split_checkpoint
from .errors import ExportError, UsageError
from .flops import flops_per_frame
from .golden import EXTRA_INSTRUCTIONS, TOLERANCE, compute_golden, write_golden
from .kosmos import read_kosmos_config
from .manifest import BACKBONE_FILE, HEAD_FILE, INT8_FILE, build_manifest, graph_metadata
from .onnx_export import export_backbone, export_head
from .parity import check_parity
from .policy_model import PolicyModel, from_checkpoint, random_model
from .preprocess import image_spec
from .prompt import DEC2025_INSTRUCTION, PromptTokenizer
from .quantize import DEFAULT_EXCLUDE, accuracy_report, quantize_backbone, write_report
from .synthetic import full_kosmos_folder, tiny_kosmos_folder
from .training_config import december_2025_config, read_training_config, training_spec_from_dict

Log = Callable[[str], None]
Verify = Callable[[Path, str], None]


@dataclass
class ExportOptions:
    out: Path
    checkpoint: Path | None = None
    config: Path | None = None
    kosmos: Path | None = None
    synthetic: str | None = None
    attn: str = "eager"
    preprocess: str = "dec2025"
    train_instructions: list[str] = field(default_factory=list)
    quantize: str | None = None
    int8_exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    name: str | None = None
    force: bool = False
    trust_checkpoint: bool = False
    ignore_keys: list[str] = field(default_factory=list)
    seed: int = 0
    external_data: bool | None = None
    parity_tolerance: float = 1e-4


@dataclass
class ExportResult:
    out: Path
    manifest: dict[str, object]
    parity: dict[str, float]
    quantization: dict[str, object] | None


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out}: folder exists and is not empty; pass --force to replace it")


def _publish_modes(folder: Path) -> None:
    """mkdtemp and onnx write 0700/0600; a model folder is read by the robot's user, often another one."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for f in folder.iterdir():
        f.chmod(0o666 & ~umask)


def _place(tmp: Path, out: Path) -> None:
    _publish_modes(tmp)
    old = None
    if out.exists():
        old = out.with_name(out.name + f".old-{int(time.time())}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old)


def _load_model(o: ExportOptions, scratch: Path, log: Log) -> tuple[PolicyModel, Path, str, str]:
    """-> (model, kosmos folder, checkpoint sha256, checkpoint label)."""
    if o.synthetic:
        if o.checkpoint or o.config or o.kosmos:
            raise UsageError("--synthetic makes its own model: leave out --checkpoint, --config and --kosmos")
        folder = scratch / "kosmos"
        config = full_kosmos_folder(folder) if o.synthetic == "full" else tiny_kosmos_folder(folder)
        raw = december_2025_config()
        raw["image_size"] = config.vision_config.image_size
        spec = training_spec_from_dict(raw, f"synthetic {o.synthetic} (December 2025 config)")
        log(f"synthetic {o.synthetic} Kosmos-2: random weights (seed {o.seed}), no checkpoint")
        return random_model(spec, config, o.attn, o.seed), folder, f"synthetic-{o.synthetic}-seed{o.seed}", f"synthetic-{o.synthetic}"
    missing = [n for n, v in (("--checkpoint", o.checkpoint), ("--config", o.config), ("--kosmos", o.kosmos)) if v is None]
    if missing:
        raise UsageError(f"{', '.join(missing)} required (or --synthetic tiny|full)")
    assert o.checkpoint and o.config and o.kosmos
    spec = read_training_config(o.config)
    config = read_kosmos_config(o.kosmos)
    if config.vision_config.image_size != spec.image_size:
        raise UsageError(f"--config image_size {spec.image_size} disagrees with --kosmos vision_config.image_size {config.vision_config.image_size}")
    log(f"reading {o.checkpoint}")
    sha = sha256_file(o.checkpoint)
    split = split_checkpoint(load_state_dict(o.checkpoint, o.trust_checkpoint), o.ignore_keys)
    model = from_checkpoint(split, spec, config, o.attn)
    log(f"backbone from {split.backbone_source}: {model.lora_layers} LoRA layers merged (alpha/r = {spec.lora_scaling:g})"
        + (f"; ignored {len(split.ignored)} key(s)" if split.ignored else ""))
    return model, o.kosmos, sha, o.checkpoint.name


def run_export(o: ExportOptions, log: Log = print, verify: Verify | None = None) -> ExportResult:
    """`verify(folder, precision)` runs on the finished folder before it is moved into place."""
    out = o.out.resolve()
    _check_target(out, o.force)
    if o.quantize not in (None, "int8"):
        raise UsageError(f"--quantize: expected int8, got {o.quantize!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".partial-", dir=out.parent))
    try:
        with tempfile.TemporaryDirectory(prefix="mobile-vla-src-") as scratch, torch.no_grad():
            result = _export_into(o, tmp, Path(scratch), log)
        if verify is not None:
            for precision in ["fp32", *result.manifest["backbone"].get("variants", {})]:  # type: ignore[union-attr]
                verify(tmp, precision)
        _place(tmp, out)
        result.out = out
        return result
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _export_into(o: ExportOptions, tmp: Path, scratch: Path, log: Log) -> ExportResult:
    t0 = time.time()
    model, kosmos_dir, sha, ckpt_label = _load_model(o, scratch, log)
    spec = model.spec
    tokenizer = PromptTokenizer(kosmos_dir)
    image = image_spec(o.preprocess, spec.image_size)
    train = o.train_instructions or [DEC2025_INSTRUCTION]
    instructions = list(dict.fromkeys(train + EXTRA_INSTRUCTIONS))
    prompt_tokens = sorted({len(tokenizer.encode(s).ids) for s in train})
    log("PyTorch forward on the golden frames")
    run = compute_golden(model, tokenizer, image, instructions)

    D = model.feature_dim
    log(f"exporting {BACKBONE_FILE} (attn {o.attn}) and {HEAD_FILE}")
    ids, mask = run.prompts[0].tensors()
    flops = flops_per_frame(model.kosmos.config, max(prompt_tokens))
    export_head(model.head, spec.window, D, tmp / HEAD_FILE, graph_metadata(spec, D, sha, None))
    export_backbone(model.frame, (run.pixels[0], ids, mask), tmp / BACKBONE_FILE, graph_metadata(spec, D, sha, "fp32"),
                    o.external_data)
    del model  # 6.6 GB at full size: gone before onnxruntime loads the graph for the parity check
    gc.collect()
    parity = check_parity(tmp / BACKBONE_FILE, tmp / HEAD_FILE, run)
    log(f"onnxruntime vs PyTorch: feature max abs {parity.feature_max_abs:.2e}, chunk max abs {parity.chunk_max_abs:.2e}")
    if not (parity.feature_max_abs <= o.parity_tolerance and parity.chunk_max_abs <= o.parity_tolerance):
        raise ExportError(
            f"onnxruntime disagrees with PyTorch beyond {o.parity_tolerance:g} (feature {parity.feature_max_abs:.3g}, "
            f"chunk {parity.chunk_max_abs:.3g}): the graphs are not the model; nothing was written"
        )

    variants: dict[str, str] = {}
    report = None
    if o.quantize == "int8":
        log(f"quantising the backbone to int8 (per-channel MatMul weights; fp32 kept for: {', '.join(o.int8_exclude) or 'nothing'})")
        kept = quantize_backbone(tmp / BACKBONE_FILE, tmp / INT8_FILE, o.int8_exclude)
        _stamp_int8(tmp / INT8_FILE, graph_metadata(spec, D, sha, "int8"))
        report = accuracy_report(tmp / BACKBONE_FILE, tmp / INT8_FILE, tmp / HEAD_FILE, run)
        report["fp32_matmuls_kept"] = kept
        report["exclude_patterns"] = o.int8_exclude
        write_report(tmp / "quantization.json", report)
        variants["int8"] = INT8_FILE
        log(f"int8 vs fp32: feature cosine min {report['feature_cosine_min']:.5f}, chunk max abs {report['chunk_max_abs_error']:.4f}, "
            f"direction agreement {report['direction_class_agreement']:.3f}")

    tokenizer.write(tmp)
    generator = f"mobile_vla_export {__version__} (torch {torch.__version__}, transformers {transformers.__version__}, attn {o.attn})"
    write_golden(tmp / "golden.json", run, generator)
    export_info = {
        "exporter_version": __version__,
        "checkpoint": ckpt_label,
        "checkpoint_sha256": sha,
        "config": str(o.config.name) if o.config else f"synthetic {o.synthetic}",
        "attn_implementation": o.attn,
        "preprocess": o.preprocess,
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "python": platform.python_version(),
        "flops_per_frame": flops,
        "parity": {"feature_max_abs": parity.feature_max_abs, "chunk_max_abs": parity.chunk_max_abs, "tolerance": o.parity_tolerance},
        "golden_tolerance": TOLERANCE,
        "seconds": round(time.time() - t0, 1),
    }
    name = o.name or o.out.name
    manifest = build_manifest(
        name=name, description=f"Mobile-VLA {spec.name}, exported from {ckpt_label}", spec=spec, feature_dim=D, image=image,
        instructions=train, prompt_tokens=prompt_tokens, variants=variants, export_info=export_info,
    )
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return ExportResult(o.out, manifest, {"feature_max_abs": parity.feature_max_abs, "chunk_max_abs": parity.chunk_max_abs}, report)


def _stamp_int8(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, metadata)
    # Weights stay where quantize_dynamic put them; only the small graph file is rewritten.
    onnx.save_model(model, str(path))
