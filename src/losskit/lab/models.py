"""The lab's models: small enough to train in seconds on a laptop CPU, big enough to show a loss's effect.

Every builder takes the seed and draws the initial weights from it alone, so two losses trained with
the same seed start from the same weights: differences in the results come from the losses.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn


def _seeded(seed: int) -> None:
    # Initialisation draws from torch's global generator; seeding it here makes the weights a function of `seed`.
    torch.manual_seed(seed)


def mlp(sizes: Sequence[int], seed: int, *, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """A fully connected network ``sizes[0] -> ... -> sizes[-1]``, ``activation`` between layers, linear output."""
    _seeded(seed)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        if i:
            layers.append(activation())
        layers.append(nn.Linear(fan_in, fan_out))
    return nn.Sequential(*layers)


def tiny_cnn(seed: int, *, channels: int = 8) -> nn.Sequential:
    """A fully convolutional net for one-channel images: a logit per pixel, same height and width.

    Two 3x3 layers see a 5x5 neighbourhood, enough for the shapes of the segmentation task; a dilated
    third widens the view to 9x9 so a pixel can tell a shape's edge from a bright speck of noise.
    """
    _seeded(seed)
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=2, dilation=2), nn.ReLU(),
        nn.Conv2d(channels, 1, 1),
    )


class VAE(nn.Module):
    """A variational autoencoder: the encoder gives the mean and log-variance of a diagonal Gaussian q(z|x)."""

    def __init__(self, features: int, hidden: int, latent: int, seed: int) -> None:
        super().__init__()
        _seeded(seed)
        self.encoder = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, features))
        self.latent = latent

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(x).chunk(2, dim=-1)
        return mean, log_var

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoder logits of a reparameterised draw z = mean + sigma * eps, with the mean and log-variance."""
        mean, log_var = self.encode(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decoder(z), mean, log_var
