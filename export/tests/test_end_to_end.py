"""The exported folder end to end: graphs, metadata, TypeScript verification, and the
training log's own number (the trainer's Huber loss) reproduced by `eval --episodes`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import h5py
import numpy as np
import onnx
import torch

from mobile_vla_export.checkpoint import load_state_dict, split_checkpoint
from mobile_vla_export.kosmos import read_kosmos_config
from mobile_vla_export.policy_model import from_checkpoint
from mobile_vla_export.preprocess import image_spec, pixel_values
from mobile_vla_export.prompt import PromptTokenizer
from mobile_vla_export.training_config import read_training_config

from conftest import run_cli

# The TypeScript evaluator's instruction rule for episodes (src/replay/episode-replay.ts DEFAULT_INSTRUCTION_MAP).
INSTRUCTION = {"left": "Navigate to the gray basket on the left", "right": "Navigate to the gray basket on the right"}


def _floats(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


def test_folder_contents_metadata_and_parity(exported: Path) -> None:
    m = json.loads((exported / "manifest.json").read_text())
    for f in ("backbone.onnx", "head.onnx", "backbone.int8.onnx", "tokenizer.json", "golden.json", "quantization.json"):
        assert (exported / f).is_file(), f"{f} is written"
    assert m["backbone"]["variants"] == {"int8": "backbone.int8.onnx"}
    assert m["export"]["parity"]["feature_max_abs"] <= 1e-5 and m["export"]["parity"]["chunk_max_abs"] <= 1e-5, m["export"]["parity"]
    assert m["training"] == {"instructions": ["Navigate to the target location"], "prompt_tokens": [13]}
    assert m["image"]["channel_order"] == "bgr" and m["image"]["mean"] is None, "December 2025 preprocessing, not the config's CLIP mean/std"
    for f, precision in (("backbone.onnx", "fp32"), ("backbone.int8.onnx", "int8"), ("head.onnx", None)):
        props = {p.key: p.value for p in onnx.load(str(exported / f), load_external_data=False).metadata_props}
        assert props["mobile_vla.window"] == "8" and props["mobile_vla.chunk"] == "10", props
        assert props["mobile_vla.checkpoint_sha256"] == m["export"]["checkpoint_sha256"], props
        assert props.get("mobile_vla.precision") == precision, props
    q = json.loads((exported / "quantization.json").read_text())
    assert 0.99 <= q["feature_cosine_min"] <= 1.0 and q["direction_steps"] > 0, q
    g = json.loads((exported / "golden.json").read_text())
    assert len(g["frames"]) >= 3 and len(g["instructions"]) >= 3
    assert any(any(ord(c) > 127 for c in i["text"]) for i in g["instructions"]), "one instruction is not ASCII"
    assert (g["frames"][0]["width"], g["frames"][0]["height"]) != (m["image"]["width"], m["image"]["height"]), "frames are raw, not model-size"
    assert [o["w"] for o in g["windows"][0]["outputs"]] == list(range(1, 9))


def test_typescript_verify_passes_and_fails_on_a_corrupted_golden(exported: Path, tmp_path: Path) -> None:
    for precision in ("fp32", "int8"):
        r = run_cli("model", "verify", str(exported), "--precision", precision)
        assert "FAIL" not in r.stdout, r.stdout
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(exported, bad)
    g = json.loads((bad / "golden.json").read_text())
    feats = _floats(g["features"][0]["data"]).copy()
    feats[0] += 0.01
    g["features"][0]["data"] = base64.b64encode(feats.astype("<f4").tobytes()).decode()
    (bad / "golden.json").write_text(json.dumps(g))
    r = run_cli("model", "verify", str(bad), check=False)
    assert r.returncode == 1 and "FAIL" in r.stdout, f"a feature off by 0.01 must fail verification:\n{r.stdout}\n{r.stderr}"


def test_the_attention_flag_is_real(exported: Path, exported_sdpa: Path) -> None:
    a = json.loads((exported / "golden.json").read_text())["features"][0]["data"]
    b = json.loads((exported_sdpa / "golden.json").read_text())["features"][0]["data"]
    d = float(np.abs(_floats(a) - _floats(b)).max())
    assert d > 1e-4, f"eager and sdpa exports must compute different features, max abs {d:.3g}"
    assert json.loads((exported_sdpa / "manifest.json").read_text())["export"]["attn_implementation"] == "sdpa"


def _write_episode(path: Path, frames: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(frames, 48, 64, 3), dtype=np.uint8)
    actions = np.zeros((frames, 3), dtype=np.float32)
    keys = np.array([[1.15, 0], [0, 1.15], [1.15, 1.15], [-1.15, 0], [0, -1.15], [0, 0]], dtype=np.float32)
    actions[1:, :2] = keys[rng.integers(0, len(keys), size=frames - 1)]
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images, compression="gzip")
        f.create_dataset("actions", data=actions)
        events = ["episode_start"] + ["start_action"] * (frames - 1)
        f.create_dataset("action_event_types", data=events, dtype=h5py.string_dtype("utf-8"))
        f.attrs["episode_name"] = path.stem
        f.attrs["num_frames"] = frames
        f.attrs["total_duration"] = frames * 0.4
        f.attrs["action_chunk_size"] = 8


def _torch_trainer_loss(src: Path, episodes: list[Path]) -> tuple[float, int]:
    """What the training code computes for these episodes: torch's huber_loss per window, mean over windows."""
    spec = read_training_config(src / "config.json")
    model = from_checkpoint(split_checkpoint(load_state_dict(src / "checkpoint.ckpt", trust=False)), spec,
                            read_kosmos_config(src / "kosmos"), "eager")
    tok = PromptTokenizer(src / "kosmos")
    image = image_spec("dec2025", spec.image_size)
    W, N = spec.window, spec.chunk
    losses = []
    with torch.no_grad():
        for ep in episodes:
            word = "left" if "_left_" in ep.name else "right"
            ids, mask = tok.encode(INSTRUCTION[word]).tensors()
            with h5py.File(ep, "r") as f:
                images, actions = f["images"][()], f["actions"][()]
            feats = torch.stack([model.frame(pixel_values(im, image), ids, mask)[0] for im in images])
            labels = torch.clamp(torch.from_numpy(actions[:, :2]), -1.0, 1.0)
            for s in range(len(images) - (W + N) + 1):
                pred = model.head(feats[s:s + W].unsqueeze(0))
                window_labels = labels[s:s + W + N][:-1].unfold(0, N, 1).permute(0, 2, 1)  # the collater: drop last, unfold
                losses.append(float(torch.nn.functional.huber_loss(pred[0], window_labels)))
    return sum(losses) / len(losses), len(losses)


def test_eval_reproduces_the_trainers_loss(tiny_source: Path, exported: Path, tmp_path: Path) -> None:
    eps = tmp_path / "episodes"
    eps.mkdir()
    files = [eps / "episode_20251204_120000_1box_hori_left_core.h5", eps / "episode_20251204_120100_1box_hori_right_core.h5",
             eps / "episode_20251204_120200_2box_vert_left_core.h5"]
    for i, (f, n) in enumerate(zip(files, (18, 21, 19))):
        _write_episode(f, n, seed=i)
    out = tmp_path / "eval"
    run_cli("eval", "--model", str(exported), "--episodes", str(eps), "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    ts = report["trainer_loss"][exported.name]
    expected, windows = _torch_trainer_loss(tiny_source, files)
    assert ts["windows"] == windows == 1 + 4 + 2, (ts["windows"], windows)
    assert abs(ts["mean"] - expected) <= 1e-5, f"eval trainer_loss {ts['mean']} vs torch {expected}"


def test_replay_runs_the_exported_model_on_a_bag(exported: Path, tmp_path: Path) -> None:
    bag = tmp_path / "bag"
    run_cli("sample-bag", str(bag), "--duration", "4")
    r = run_cli("replay", "--model", str(exported), "--bag", str(bag), "--every", "10")
    assert r.stdout.strip(), "replay prints the commands the robot would publish"
