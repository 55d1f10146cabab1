"""The training code's own per-frame forward, written out literally (test oracle).

Transcribed step by step from the Mobile-VLA RoboVLMs fork, robovlms/model/backbone/
base_backbone.py, forward_continuous at commit 37e0ead (history_type 'post', the
Kosmos-2 fallback that always runs): prompt ids padded with 0 / mask 0 up to
latent_query_num, image_embeds_position_mask True on the first 64 positions, the
action token appended with mask 1, Kosmos2ForConditionalGeneration called with
pixel_values + inputs_embeds, feature = hidden_states[-1] at the action token.
It runs on the UNMERGED peft model, so it checks the LoRA merge too.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def training_feature(kosmos: torch.nn.Module, action_token: torch.Tensor, pixel_values: torch.Tensor,
                     lang_x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    num_image_tokens = kosmos.config.latent_query_num
    dummy_input_ids, simple_attention_mask = lang_x, attention_mask.bool()
    batch_size, token_seq_len = dummy_input_ids.shape
    if token_seq_len < num_image_tokens:
        pad_length = num_image_tokens - token_seq_len
        dummy_input_ids = torch.cat([dummy_input_ids, torch.zeros((batch_size, pad_length), dtype=torch.long)], dim=1)
        simple_attention_mask = torch.cat([simple_attention_mask, torch.zeros((batch_size, pad_length), dtype=torch.bool)], dim=1)
    batch_size, token_seq_len = dummy_input_ids.shape
    image_embeds_position_mask = torch.zeros((batch_size, token_seq_len), dtype=torch.bool)
    image_embeds_position_mask[:, :num_image_tokens] = True
    inputs_embeds = kosmos.text_model.model.embed_tokens(dummy_input_ids).clone()
    action_query = action_token.view(1, 1, -1).expand(batch_size, 1, -1)
    inputs_embeds = torch.cat([inputs_embeds, action_query], dim=1)
    simple_attention_mask = torch.cat([simple_attention_mask, torch.ones((batch_size, 1), dtype=torch.bool)], dim=1)
    image_embeds_position_mask = torch.cat([image_embeds_position_mask, torch.zeros((batch_size, 1), dtype=torch.bool)], dim=1)
    output = kosmos(
        pixel_values=pixel_values, input_ids=None, inputs_embeds=inputs_embeds, attention_mask=simple_attention_mask,
        image_embeds_position_mask=image_embeds_position_mask, output_hidden_states=True,
    )
    return output.hidden_states[-1][:, -1]
