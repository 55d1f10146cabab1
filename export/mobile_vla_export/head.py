"""The Mobile-VLA action head (MobileVLALSTMDecoder, stateless window branch) as a plain module.

Parameter names match the training code's `act_head.*` keys (`rnn.*`, `velocities.mlp.*`)
so a checkpoint loads with strict key checking.
"""

from __future__ import annotations

import torch
from torch import nn

MLP_WIDTHS = (1024, 512, 256)


class TanhMlp(nn.Module):
    def __init__(self, hidden: int, out: int) -> None:
        super().__init__()
        a, b, c = MLP_WIDTHS
        self.mlp = nn.Sequential(
            nn.Linear(hidden, a), nn.ReLU(), nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(), nn.Linear(c, out), nn.Tanh()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


class LstmActionHead(nn.Module):
    """features (1, w, D), w = 1..W -> actions (1, w, N, A).

    The LSTM starts from a zero state at the window's first frame, as every training
    window did, so running it over the first w frames is exactly what training computed
    at position w-1 (the `grow` window fill of the runtime).
    """

    def __init__(self, feature_dim: int, hidden: int, layers: int, chunk: int, action_dim: int) -> None:
        super().__init__()
        self.chunk = chunk
        self.action_dim = action_dim
        self.rnn = nn.LSTM(feature_dim, hidden, layers, batch_first=True)
        self.velocities = TanhMlp(hidden, chunk * action_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x, _ = self.rnn(features)
        v = self.velocities(x)
        return v.reshape(v.shape[0], v.shape[1], self.chunk, self.action_dim)
