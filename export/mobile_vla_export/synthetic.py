"""Synthetic inputs with the real contract: a Kosmos-2 folder (config.json + a tokenizer of
Kosmos-2's shape), training-layout checkpoints, a training config.

Used by the tests (a tiny model built from transformers' own config classes, wrapped
with peft LoRA on every Linear as the training code does) and for real-scale latency
measurements (`--synthetic full`: transformers' default Kosmos2Config, random weights).
No weights are downloaded: everything here is generated from a seed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import Kosmos2Config

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
# Kosmos-2's added tokens (its processor adds 1024 <patch_index_xxxx> tokens too).
KOSMOS_ADDED = ["<image>", "</image>", "</chunk>", "</line>", "<phrase>", "</phrase>", "<object>", "</object>",
                "</delimiter_of_multi_objects/>", "<grounding>"]
WORDS = ("An image of a robot Navigate to the target location gray basket on left right go move forward back stop turn "
         "box obstacle around avoid reach find door chair table please now slowly quickly red blue green brown pot cup").split()
HANGUL = "왼쪽오른의회색바구니로이동하세요앞뒤멈춰"


def tiny_kosmos_config(vocab_size: int) -> Kosmos2Config:
    return Kosmos2Config(
        text_config={"vocab_size": vocab_size, "embed_dim": 64, "layers": 2, "ffn_dim": 128, "attention_heads": 4,
                     "max_position_embeddings": 1024, "dropout": 0.0, "attention_dropout": 0.0},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                       "image_size": 28, "patch_size": 14},
        latent_query_num=64,
    )


def make_tokenizer(vocab_size: int, patch_tokens: int) -> Tokenizer:
    """An XLM-R-shaped SentencePiece Unigram tokenizer: <s>=0 <pad>=1 </s>=2 <unk>=3, '▁' word marks,
    `<s> $A </s>`, and Kosmos-2's added special tokens after the base vocabulary."""
    pieces: list[tuple[str, float]] = [(s, 0.0) for s in SPECIALS]
    seen = {p for p, _ in pieces}

    def add(piece: str, score: float) -> None:
        if piece not in seen:
            seen.add(piece)
            pieces.append((piece, score))

    for w in WORDS:
        add("▁" + w, -3.0)
        add("▁" + w.lower(), -3.5)
    add("▁", -4.0)
    for c in [chr(i) for i in range(33, 127)] + list(HANGUL):
        add(c, -8.0)
        add("▁" + c, -8.5)
    base = vocab_size - len(KOSMOS_ADDED) - patch_tokens
    i = 0
    while len(pieces) < base:  # filler pieces give the real vocabulary's size and id range
        add(f"▁x{i:05d}", -12.0)
        i += 1
    tok = Tokenizer(models.Unigram(pieces[:base], unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.add_special_tokens(KOSMOS_ADDED + [f"<patch_index_{k:04d}>" for k in range(patch_tokens)])
    return tok


def write_kosmos_folder(folder: Path, config: Kosmos2Config, patch_tokens: int) -> None:
    """config.json + tokenizer.json + tokenizer_config.json, the files `--kosmos` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    tok = make_tokenizer(config.text_config.vocab_size, patch_tokens)
    if tok.get_vocab_size() != config.text_config.vocab_size:
        raise AssertionError(f"tokenizer has {tok.get_vocab_size()} ids, config {config.text_config.vocab_size}")
    config.save_pretrained(str(folder))
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "cls_token": "<s>", "sep_token": "</s>", "model_max_length": 2048,
        "additional_special_tokens": KOSMOS_ADDED,
    }, indent=2))


def tiny_kosmos_folder(folder: Path) -> Kosmos2Config:
    config = tiny_kosmos_config(vocab_size=1200)
    write_kosmos_folder(folder, config, patch_tokens=16)
    return config


def full_kosmos_folder(folder: Path) -> Kosmos2Config:
    config = Kosmos2Config()  # transformers' defaults are kosmos-2-patch14-224's sizes
    write_kosmos_folder(folder, config, patch_tokens=1024)
    return config


def lora_target_names(model: torch.nn.Module) -> list[str]:
    """The training code's find_all_linear_names: every Linear's last name part, lm_head excluded."""
    names = {name.split(".")[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    names.discard("lm_head")
    return sorted(names)


def training_checkpoint(kosmos_config: Kosmos2Config, spec_raw: dict[str, Any], seed: int) -> dict[str, Any]:
    """A Lightning-style checkpoint with the training code's key layout (REFERENCE.md, "checkpoint"):
    `model.backbone.*` (LoRA-injected), the PeftModel copy `model.model.base_model.model.*`,
    `model.act_head.*`, `model.action_token`. LoRA B is randomised so the merge matters."""
    from peft import LoraConfig, get_peft_model
    from transformers import Kosmos2ForConditionalGeneration

    from .head import LstmActionHead
    from .training_config import training_spec_from_dict

    spec = training_spec_from_dict(spec_raw, "synthetic config")
    torch.manual_seed(seed)
    kosmos = Kosmos2ForConditionalGeneration(kosmos_config).eval()
    setup = spec_raw["train_setup"]
    lora = LoraConfig(r=setup["lora_r"], lora_alpha=setup["lora_alpha"], lora_dropout=setup.get("lora_dropout", 0.0),
                      target_modules=lora_target_names(kosmos), bias="none")
    peft_model = get_peft_model(kosmos, lora)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.02)
    injected = peft_model.base_model.model.state_dict()
    head = LstmActionHead(kosmos_config.text_config.embed_dim, spec.head_hidden, spec.head_layers, spec.chunk, spec.action_dim)
    # The training head's init (xavier weights, zero biases) would make a random policy nearly
    # constant; PyTorch's default init keeps its outputs varied, which a test needs more.
    state: dict[str, torch.Tensor] = {}
    for k, v in injected.items():
        state["model.backbone." + k] = v
        state["model.model.base_model.model." + k] = v
    for k, v in head.state_dict().items():
        state["model.act_head." + k] = v
    state["model.action_token"] = torch.randn(kosmos_config.text_config.embed_dim) * 0.5
    return {"state_dict": state, "epoch": 0, "global_step": 0, "pytorch-lightning_version": "2.4.0"}
