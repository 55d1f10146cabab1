"""Instruction -> the ids and mask training fed the backbone (RoboVLMs get_text_function, 'kosmos')."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from .errors import UsageError

TEMPLATE = "<grounding>An image of a robot {instruction}"
MAX_LENGTH = 512
# The 2025-12-04 training code (commit 37e0ead) used this instruction for every sample.
DEC2025_INSTRUCTION = "Navigate to the target location"


@dataclass(frozen=True)
class Prompt:
    text: str
    ids: list[int]
    mask: list[int]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tensor([self.ids], dtype=torch.long), torch.tensor([self.mask], dtype=torch.long)


class PromptTokenizer:
    def __init__(self, folder: Path) -> None:
        try:
            self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(folder))
        except Exception as e:
            raise UsageError(f"--kosmos {folder}: cannot load its tokenizer ({e})") from None
        if not getattr(self.tokenizer, "is_fast", False):
            raise UsageError(f"--kosmos {folder}: the tokenizer must be a fast (tokenizer.json) tokenizer for the robot's runtime")
        self.folder = folder

    def encode(self, instruction: str) -> Prompt:
        # Training: prompt built from s.strip(), right padding, padding="longest" over a batch of one
        # instruction (so no padding), truncation to 512, special tokens added.
        text = TEMPLATE.format(instruction=instruction.strip())
        enc = self.tokenizer(text, truncation="only_first", max_length=MAX_LENGTH, add_special_tokens=True)
        return Prompt(text, list(enc["input_ids"]), list(enc["attention_mask"]))

    def write(self, out: Path) -> None:
        """tokenizer.json exactly as Python tokenised, plus tokenizer_config.json when the folder has one."""
        self.tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
        cfg = self.folder / "tokenizer_config.json"
        if cfg.is_file():
            shutil.copyfile(cfg, out / "tokenizer_config.json")
