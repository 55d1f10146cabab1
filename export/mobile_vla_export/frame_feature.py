"""The per-frame backbone forward exactly as the 2025-12 training code computed it.

The training code (RoboVLMs fork, base_backbone.forward_continuous, history 'post')
always ends in its Kosmos-2 fallback: the prompt ids, right-padded with id 0 / mask 0
up to latent_query_num (64), are embedded; transformers' own Kosmos-2 forward writes
the 64 projected image embeddings over positions 0..63; the learned action token is
appended with mask 1; the feature is the last hidden state (after the final
LayerNorm) at the action token. This module computes the same thing without
data-dependent branches so it exports to one ONNX graph with a dynamic prompt length:

    sequence = [image(64), text_emb(ids)[64:], action_token]
    mask     = [mask padded/cut to 64,   mask[64:],        1]

Consequence (REFERENCE.md): for prompts of <= 64 tokens the text embeddings are all
overwritten, so only the prompt's token COUNT (how many image positions are attended)
reaches the feature, not its words.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import Kosmos2ForConditionalGeneration


def image_embeddings(kosmos: Kosmos2ForConditionalGeneration, pixel_values: torch.Tensor) -> torch.Tensor:
    """vision model -> post_layernorm -> L2 normalise -> image_to_text_projection, as Kosmos-2 does."""
    hidden = kosmos.vision_model(pixel_values=pixel_values).last_hidden_state
    embeds = kosmos.vision_model.model.post_layernorm(hidden)
    embeds = nn.functional.normalize(embeds, dim=-1)
    embeds, _ = kosmos.image_to_text_projection(embeds)
    return embeds


class FrameFeature(nn.Module):
    """(pixel_values (1,3,S,S), input_ids (1,L), attention_mask (1,L)) -> feature (1, D)."""

    def __init__(self, kosmos: Kosmos2ForConditionalGeneration, action_token: torch.Tensor) -> None:
        super().__init__()
        self.kosmos = kosmos
        self.latent_query_num = int(kosmos.config.latent_query_num)
        self.action_token = nn.Parameter(action_token.detach().reshape(1, 1, -1).clone(), requires_grad=False)

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        q = self.latent_query_num
        text = self.kosmos.text_model.model
        image = image_embeddings(self.kosmos, pixel_values)
        tail = text.embed_tokens(input_ids)[:, q:]
        mask = attention_mask.to(torch.long)
        head_mask = torch.cat([mask, torch.zeros(mask.shape[0], q, dtype=torch.long)], dim=1)[:, :q]
        one = torch.ones(mask.shape[0], 1, dtype=torch.long)
        seq = torch.cat([image.to(tail.dtype), tail, self.action_token.expand(mask.shape[0], 1, -1).to(tail.dtype)], dim=1)
        full_mask = torch.cat([head_mask, mask[:, q:], one], dim=1)
        out = text(inputs_embeds=seq, attention_mask=full_mask)
        return out.last_hidden_state[:, -1]
