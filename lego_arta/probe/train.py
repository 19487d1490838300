"""Train a probe on frozen frame tokens and predict, with frames in order and reversed.

Tokens of the distinct images sit once in a bank ``(images, tokens, dim)``; an item is a pair of
bank indices, gathered per batch, so two tasks or many rows sharing an image share its memory.
Training is full AdamW with cross-entropy, minibatches shuffled by a generator seeded from the
run's seed: the same features, probe and seed give the same weights and predictions.

>>> import torch
>>> bank = FrameBank(torch.randn(4, 3, 8), torch.tensor([[0, 1], [2, 3]]))
>>> bank.batch(torch.tensor([1])).shape, bank.reversed().index.tolist()
(torch.Size([1, 2, 3, 8]), [[1, 0], [3, 2]])
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lego_arta.probe.heads import make_probe, trainable_parameters

DEFAULT_EPOCHS = 30
DEFAULT_LR = 1e-3
DEFAULT_BATCH_SIZE = 32
DEFAULT_WEIGHT_DECAY = 1e-4


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = DEFAULT_EPOCHS
    lr: float = DEFAULT_LR
    seed: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    weight_decay: float = DEFAULT_WEIGHT_DECAY

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError(f"probe training needs epochs >= 1, batch size >= 1 and lr > 0, got {self}")


@dataclass(frozen=True)
class FrameBank:
    """Distinct images' tokens and, per item, the bank indices of its frames in order."""

    tokens: torch.Tensor  # (images, tokens, dim)
    index: torch.Tensor  # (items, frames), int64

    @classmethod
    def of(cls, frames: Sequence[Sequence[str]], tokens: Mapping[str, torch.Tensor]) -> FrameBank:
        keys = sorted({key for item in frames for key in item})
        position = {key: i for i, key in enumerate(keys)}
        shapes = {tuple(tokens[key].shape) for key in keys}
        if len(shapes) != 1:
            raise ValueError(f"frame tokens differ in shape {sorted(shapes)}: a backbone gives every image the same number of tokens")
        bank = torch.stack([tokens[key] for key in keys])
        return cls(bank, torch.tensor([[position[key] for key in item] for item in frames], dtype=torch.int64))

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def batch(self, rows: torch.Tensor) -> torch.Tensor:
        """``(rows, frames, tokens, dim)`` tokens of the items ``rows``."""
        return self.tokens[self.index[rows]]

    def reversed(self) -> FrameBank:
        return FrameBank(self.tokens, self.index.flip(1))


@dataclass(frozen=True)
class TrainedProbe:
    module: nn.Module
    parameters: int
    seconds: float


def train_probe(name: str, bank: FrameBank, labels: Sequence[int], settings: TrainSettings, *, device: str = "cpu") -> TrainedProbe:
    """A probe ``name`` fitted to ``bank``'s items and their 0/1 ``labels``."""
    if len(labels) != len(bank):
        raise ValueError(f"{len(labels)} labels for {len(bank)} items")
    start = time.perf_counter()
    module = make_probe(name, dim=int(bank.tokens.shape[-1]), seed=settings.seed, frames=int(bank.index.shape[1])).to(device)
    optimiser = torch.optim.AdamW(module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    targets = torch.tensor(list(labels), dtype=torch.int64)
    loss = nn.CrossEntropyLoss()
    module.train()
    for _ in range(settings.epochs):
        for rows in torch.randperm(len(bank), generator=generator).split(settings.batch_size):
            optimiser.zero_grad(set_to_none=True)
            loss(module(bank.batch(rows).to(device)), targets[rows].to(device)).backward()
            optimiser.step()
    module.eval()
    return TrainedProbe(module, trainable_parameters(module), time.perf_counter() - start)


@torch.no_grad()
def predict(probe: nn.Module, bank: FrameBank, *, batch_size: int = DEFAULT_BATCH_SIZE, device: str = "cpu") -> np.ndarray:
    """The predicted class (0/1) of every item."""
    rows = torch.arange(len(bank))
    logits = [probe(bank.batch(chunk).to(device)).cpu() for chunk in rows.split(batch_size)]
    return torch.cat(logits).argmax(dim=1).numpy()
