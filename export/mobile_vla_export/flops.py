"""Multiply-add FLOPs of one per-frame backbone pass, from the Kosmos-2 config.

Counts the dense work (every Linear, the patch embedding, attention scores and
weighted sums) at the real sequence lengths: the vision encoder over (S/p)^2 + 1
tokens, the latent-query projection, and the text decoder over 64 image positions
+ the action token (prompts of <= 64 tokens). LayerNorms, softmax and activations
are left out (a few percent). The bench divides latency by FLOPs / GEMM rate.
"""

from __future__ import annotations

from transformers import Kosmos2Config


def _layer(tokens: int, hidden: int, ffn: int, kv_tokens: int | None = None) -> int:
    kv = tokens if kv_tokens is None else kv_tokens
    proj = 2 * tokens * hidden * hidden * 2 + 2 * kv * hidden * hidden * 2  # q, out + k, v
    attn = 2 * tokens * kv * hidden * 2  # scores + weighted sum
    mlp = 2 * tokens * hidden * ffn * 2
    return proj + attn + mlp


def flops_per_frame(config: Kosmos2Config, prompt_tokens: int = 0) -> int:
    v = config.vision_config
    t = config.text_config
    q = int(config.latent_query_num)
    patches = (v.image_size // v.patch_size) ** 2
    vt = patches + 1
    vision = patches * (3 * v.patch_size * v.patch_size) * v.hidden_size * 2
    vision += v.num_hidden_layers * _layer(vt, v.hidden_size, v.intermediate_size)
    D = t.embed_dim
    projection = vt * v.hidden_size * D * 2  # dense
    projection += _layer(q, D, 0, kv_tokens=vt + q)  # latent queries attend [image, latents]
    seq = q + max(0, prompt_tokens - q) + 1
    text = t.layers * _layer(seq, D, t.ffn_dim)
    return int(vision + projection + text)
