"""python -m mobile_vla_export {export,synthetic-checkpoint} ... (also reached as `npx mobile-vla model export`)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from .errors import ExportError, UsageError
from .export import ExportOptions, run_export
from .kosmos import ATTN_IMPLEMENTATIONS
from .preprocess import PREPROCESS_CHOICES
from .quantize import DEFAULT_EXCLUDE

REPO = Path(__file__).resolve().parents[2]
CLI_JS = REPO / "dist" / "src" / "cli" / "main.js"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 already; keep the package's wording
        self.print_usage(sys.stderr)
        print(f"mobile-vla model export: {message}", file=sys.stderr)
        raise SystemExit(2)


def ts_verify(folder: Path, precision: str) -> None:
    """The TypeScript `model verify` on the finished folder: the runtime the robot uses, not Python's."""
    node = shutil.which("node")
    if node is None or not CLI_JS.is_file():
        raise ExportError(
            f"cannot run `mobile-vla model verify`: {'node is not on PATH' if node is None else f'{CLI_JS} is missing'}; "
            "run `npm install` in the repository first, or pass --no-verify (the folder is then unverified)"
        )
    r = subprocess.run([node, str(CLI_JS), "model", "verify", str(folder), "--precision", precision], check=False)
    if r.returncode != 0:
        raise ExportError(f"`mobile-vla model verify --precision {precision}` failed (exit {r.returncode}); nothing was written")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="mobile-vla model export", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", prog="mobile-vla model export", help="checkpoint -> verified model folder")
    e.add_argument("--checkpoint", type=Path, help="Lightning .ckpt (state_dict), bare .pt state dict or .safetensors")
    e.add_argument("--config", type=Path, help="the training config JSON (Mobile_VLA/configs/*.json)")
    e.add_argument("--kosmos", type=Path, help="the Kosmos-2 folder named by the config's model_path (config.json + tokenizer files)")
    e.add_argument("--out", type=Path, required=True, help="model folder to create")
    e.add_argument("--synthetic", choices=("tiny", "full"), help="random weights instead of a checkpoint (tests; real-scale latency)")
    e.add_argument("--attn", choices=ATTN_IMPLEMENTATIONS, default="eager",
                   help="Kosmos-2 attention implementation (README: why eager is the default)")
    e.add_argument("--preprocess", choices=PREPROCESS_CHOICES, default="dec2025",
                   help="dec2025: BGR, [0, 1], no mean/std (Dec 2025 models); clip: RGB with CLIP mean/std (Feb 2026 on)")
    e.add_argument("--train-instruction", action="append", default=[], metavar="TEXT",
                   help="an instruction the model was trained with (repeatable); default: the 2025-12-04 code's fixed one")
    e.add_argument("--quantize", choices=("int8",), help="also write backbone.int8.onnx and quantization.json")
    e.add_argument("--int8-exclude", action="append", metavar="REGEX", help=f"MatMul node names kept fp32 (default: {DEFAULT_EXCLUDE})")
    e.add_argument("--name", help="model name in the manifest (default: the folder name)")
    e.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    e.add_argument("--trust-checkpoint", action="store_true", help="allow unpickling Python objects in the checkpoint")
    e.add_argument("--ignore-keys", action="append", default=[], metavar="REGEX", help="checkpoint keys known to be unused")
    e.add_argument("--seed", type=int, default=0, help="weight seed for --synthetic")
    e.add_argument("--external-data", action="store_true", default=None,
                   help="keep the backbone's weights in backbone.onnx.data even when small (always so above 1 GB)")
    e.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    e.add_argument("--no-verify", action="store_true", help="skip the TypeScript `model verify` run (the folder is then unverified)")
    s = sub.add_parser("synthetic-checkpoint", help="write a tiny random checkpoint + config + Kosmos-2 folder in the training layout")
    s.add_argument("--out", type=Path, required=True, help="folder to create: kosmos/, config.json, checkpoint.ckpt")
    s.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "synthetic-checkpoint":
            return _synthetic_checkpoint(args.out, args.seed)
        if args.threads:
            torch.set_num_threads(args.threads)
        opts = ExportOptions(
            out=args.out, checkpoint=args.checkpoint, config=args.config, kosmos=args.kosmos, synthetic=args.synthetic,
            attn=args.attn, preprocess=args.preprocess, train_instructions=args.train_instruction, quantize=args.quantize,
            int8_exclude=args.int8_exclude if args.int8_exclude is not None else list(DEFAULT_EXCLUDE), name=args.name,
            force=args.force, trust_checkpoint=args.trust_checkpoint, ignore_keys=args.ignore_keys, seed=args.seed,
            external_data=args.external_data,
        )
        result = run_export(opts, log=lambda m: print(m, flush=True), verify=None if args.no_verify else ts_verify)
    except UsageError as e:
        print(f"mobile-vla model export: {e}", file=sys.stderr)
        return 2
    except ExportError as e:
        print(f"mobile-vla model export: {e}", file=sys.stderr)
        return 1
    state = "written, NOT verified (--no-verify)" if args.no_verify else "written and verified"
    print(f"{result.out}: {state}")
    return 0


def _synthetic_checkpoint(out: Path, seed: int) -> int:
    from .synthetic import tiny_kosmos_folder, training_checkpoint
    from .training_config import december_2025_config

    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: folder exists and is not empty")
    config = tiny_kosmos_folder(out / "kosmos")
    raw = december_2025_config(kosmos_path=str(out / "kosmos"))
    raw["image_size"] = config.vision_config.image_size
    (out / "config.json").write_text(json.dumps(raw, indent=2) + "\n")
    torch.save(training_checkpoint(config, raw, seed), out / "checkpoint.ckpt")
    print(f"wrote {out}/kosmos, {out}/config.json, {out}/checkpoint.ckpt")
    return 0
