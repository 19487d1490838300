"""Train a probe on frozen frame tokens and predict, with frames in order and reversed.

Tokens of the distinct images sit once in a bank ``(images, tokens, dim)``; an item is a pair of
bank indices, gathered per batch, so two tasks or many rows sharing an image share its memory.
Training is full AdamW with cross-entropy, minibatches shuffled by a generator seeded from the
run's seed: the same features, probe and seed give the same weights and predictions.

How long to train is not a fixed guess (a fixed 30 epochs left the STEP probe predicting one
class): :func:`choose_epochs` holds out a seeded share of the train split's *manuals* (rows of one
manual are alike, so holding out rows would leak), trains on the rest while the held-out loss
improves (early stopping with ``patience``), and :func:`fit_probe` retrains on the whole train
split for the epoch count with the lowest held-out loss. The test split is never looked at.

>>> import torch
>>> bank = FrameBank(torch.randn(4, 3, 8), torch.tensor([[0, 1], [2, 3]]))
>>> bank.batch(torch.tensor([1])).shape, bank.reversed().index.tolist()
(torch.Size([1, 2, 3, 8]), [[1, 0], [3, 2]])
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lego_arta.probe.heads import make_probe, trainable_parameters

DEFAULT_EPOCHS = 200
DEFAULT_LR = 1e-3
DEFAULT_BATCH_SIZE = 32
DEFAULT_WEIGHT_DECAY = 1e-4
DEFAULT_PATIENCE = 20
DEFAULT_HOLDOUT = 0.25


@dataclass(frozen=True)
class TrainSettings:
    """``epochs`` is the most epochs; with ``holdout > 0`` the count used is chosen on that share of
    the train manuals, stopping after ``patience`` epochs without a better held-out loss."""

    epochs: int = DEFAULT_EPOCHS
    lr: float = DEFAULT_LR
    seed: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    weight_decay: float = DEFAULT_WEIGHT_DECAY
    patience: int = DEFAULT_PATIENCE
    holdout: float = DEFAULT_HOLDOUT

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0 or self.patience < 1 or not 0 <= self.holdout < 1:
            raise ValueError(f"probe training needs epochs >= 1, batch size >= 1, lr > 0, patience >= 1 and 0 <= holdout < 1, got {self}")


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

    def subset(self, rows: Sequence[int]) -> FrameBank:
        """The items ``rows`` (same token bank)."""
        return FrameBank(self.tokens, self.index[torch.tensor(list(rows), dtype=torch.int64)])


@dataclass(frozen=True)
class TrainedProbe:
    module: nn.Module
    parameters: int
    seconds: float


@dataclass(frozen=True)
class EpochChoice:
    """How many epochs :func:`fit_probe` trained for and why: the held-out manuals and, per epoch
    run on the rest, the held-out loss and accuracy (``curve``). Without a held-out set (``holdout``
    0, or a single train manual) ``chosen`` is the maximum and ``curve`` is empty."""

    chosen: int
    maximum: int
    held_out_manuals: tuple[str, ...] = ()
    held_out_items: int = 0
    curve: tuple[tuple[int, float, float], ...] = ()  # (epoch, held-out loss, held-out accuracy %)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "max": self.maximum,
            "held_out_manuals": list(self.held_out_manuals),
            "held_out_items": self.held_out_items,
            "curve": [{"epoch": e, "loss": loss, "accuracy": accuracy} for e, loss, accuracy in self.curve],
        }


def _epochs(name: str, bank: FrameBank, labels: Sequence[int], settings: TrainSettings, device: str) -> Iterator[nn.Module]:
    """The probe after each epoch of training on ``bank`` (in eval mode between epochs), without end."""
    if len(labels) != len(bank):
        raise ValueError(f"{len(labels)} labels for {len(bank)} items")
    module = make_probe(name, dim=int(bank.tokens.shape[-1]), seed=settings.seed, frames=int(bank.index.shape[1])).to(device)
    optimiser = torch.optim.AdamW(module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    generator = torch.Generator().manual_seed(settings.seed)
    targets = torch.tensor(list(labels), dtype=torch.int64)
    loss = nn.CrossEntropyLoss()
    while True:
        module.train()
        for rows in torch.randperm(len(bank), generator=generator).split(settings.batch_size):
            optimiser.zero_grad(set_to_none=True)
            loss(module(bank.batch(rows).to(device)), targets[rows].to(device)).backward()
            optimiser.step()
        module.eval()
        yield module


def train_probe(
    name: str, bank: FrameBank, labels: Sequence[int], settings: TrainSettings, *, device: str = "cpu", epochs: int | None = None
) -> TrainedProbe:
    """A probe ``name`` fitted to ``bank``'s items and their 0/1 ``labels`` for ``epochs`` (default ``settings.epochs``)."""
    start = time.perf_counter()
    module: nn.Module | None = None
    for _, module in zip(range(epochs or settings.epochs), _epochs(name, bank, labels, settings, device)):
        pass
    assert module is not None
    return TrainedProbe(module, trainable_parameters(module), time.perf_counter() - start)


def held_out_manuals(manuals: Sequence[str], share: float, seed: int) -> tuple[str, ...]:
    """A seeded ``share`` of the distinct ``manuals`` (at least one, never all), sorted; none when
    ``share`` is 0 or there is only one manual.

    >>> held_out_manuals(["m1", "m2", "m1", "m3", "m4"], 0.25, seed=0) == held_out_manuals(["m4", "m3", "m2", "m1"], 0.25, seed=0)
    True
    >>> len(held_out_manuals([f"m{i}" for i in range(10)], 0.25, seed=0)), held_out_manuals(["m1", "m1"], 0.25, seed=0)
    (2, ())
    """
    distinct = sorted(set(manuals))
    if share <= 0 or len(distinct) < 2:
        return ()
    count = min(len(distinct) - 1, max(1, round(share * len(distinct))))
    order = np.random.default_rng(seed).permutation(len(distinct))
    return tuple(sorted(distinct[i] for i in order[:count]))


@torch.no_grad()
def _held_out_scores(probe: nn.Module, bank: FrameBank, targets: torch.Tensor, device: str) -> tuple[float, float]:
    logits = torch.cat([probe(bank.batch(chunk).to(device)).cpu() for chunk in torch.arange(len(bank)).split(DEFAULT_BATCH_SIZE)])
    loss = float(nn.functional.cross_entropy(logits, targets))
    return round(loss, 6), round(100.0 * float((logits.argmax(dim=1) == targets).float().mean()), 6)


def choose_epochs(
    name: str, bank: FrameBank, labels: Sequence[int], manuals: Sequence[str], settings: TrainSettings, *, device: str = "cpu"
) -> EpochChoice:
    """Train ``name`` on the items of the manuals not held out (:func:`held_out_manuals`) and choose
    the epoch with the lowest held-out loss (the earliest on a tie); stop ``patience`` epochs after it."""
    held = held_out_manuals(manuals, settings.holdout, settings.seed)
    if not held:
        return EpochChoice(settings.epochs, settings.epochs)
    inside = [i for i, manual in enumerate(manuals) if manual not in held]
    outside = [i for i, manual in enumerate(manuals) if manual in held]
    targets = torch.tensor([labels[i] for i in outside], dtype=torch.int64)
    curve: list[tuple[int, float, float]] = []
    best = (float("inf"), 0)
    training = _epochs(name, bank.subset(inside), [labels[i] for i in inside], settings, device)
    for epoch, probe in zip(range(1, settings.epochs + 1), training):
        loss, accuracy = _held_out_scores(probe, bank.subset(outside), targets, device)
        curve.append((epoch, loss, accuracy))
        best = min(best, (loss, epoch))
        if epoch - best[1] >= settings.patience:
            break
    return EpochChoice(best[1], settings.epochs, held, len(outside), tuple(curve))


def fit_probe(
    name: str, bank: FrameBank, labels: Sequence[int], manuals: Sequence[str], settings: TrainSettings, *, device: str = "cpu"
) -> tuple[TrainedProbe, EpochChoice]:
    """The probe retrained on every item for the epochs :func:`choose_epochs` chose, and that choice."""
    choice = choose_epochs(name, bank, labels, manuals, settings, device=device)
    return train_probe(name, bank, labels, settings, device=device, epochs=choice.chosen), choice


@torch.no_grad()
def predict(probe: nn.Module, bank: FrameBank, *, batch_size: int = DEFAULT_BATCH_SIZE, device: str = "cpu") -> np.ndarray:
    """The predicted class (0/1) of every item."""
    rows = torch.arange(len(bank))
    logits = [probe(bank.batch(chunk).to(device)).cpu() for chunk in rows.split(batch_size)]
    return torch.cat(logits).argmax(dim=1).numpy()
