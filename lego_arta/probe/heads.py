"""The three probes over frozen frame tokens: linear, attentive, and STEP (after Self-attentive Temporal Embedding Probing).

Every probe reads a batch of frame tokens ``(batch, frames, tokens, dim)`` whose token 0 is the
backbone's CLS token and the rest its patch tokens, and returns class logits ``(batch, classes)``.

- :class:`LinearProbe`: the frames' CLS tokens, mean-pooled, then a linear layer.
- :class:`AttentiveProbe`: one learned query cross-attends over every token of every frame.
- :class:`StepProbe`: learnable frame-wise positional encodings added to the patch tokens, one
  frame-global learnable CLS token, a pure multi-head self-attention block (no residual, layer
  norm or feed-forward), average pooling over its outputs, a linear head.

The first two cannot see frame order, and here that holds to the bit, not just up to rounding:
each frame is projected in its own, equally shaped operation, and frames meet only through sums
and maxima over the frame axis, which for two frames (``a + b == b + a`` in IEEE arithmetic) do
not depend on their order. So on a task whose label flips with the frames (``order``) they score
exactly 50% with a flip rate of 0, which the tests check.

>>> import torch
>>> tokens = torch.randn(3, 2, 5, 8)
>>> probe = make_probe("attentive", dim=8, seed=0)
>>> bool(torch.equal(probe(tokens), probe(tokens.flip(1))))
True
>>> step = make_probe("step", dim=8, seed=0)
>>> bool(torch.equal(step(tokens), step(tokens.flip(1))))
False
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Probe names, in the order reports list them.
PROBES: tuple[str, ...] = ("linear", "attentive", "step")
#: Attention heads of the attentive and STEP probes (the head count divides ``dim``, or one head is used).
DEFAULT_HEADS = 8
#: Frames a STEP probe has positional encodings for (the probe tasks have two).
DEFAULT_FRAMES = 2


def _heads(dim: int, heads: int) -> int:
    return heads if dim % heads == 0 else 1


class LinearProbe(nn.Module):
    """Mean of the frames' CLS tokens → linear layer (order-blind)."""

    def __init__(self, dim: int, classes: int = 2) -> None:
        super().__init__()
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(tokens[:, :, 0].sum(dim=1) / tokens.shape[1])


class AttentiveProbe(nn.Module):
    """A learned query cross-attending over every token of every frame → layer norm → linear (order-blind).

    The softmax runs over all tokens of all frames; it is computed per frame (partial numerators
    and denominators against the shared maximum) and summed over frames, so it is one attention
    over the set of tokens and reversing the frames changes no bit of the output.
    """

    def __init__(self, dim: int, classes: int = 2, heads: int = DEFAULT_HEADS) -> None:
        super().__init__()
        self.heads = _heads(dim, heads)
        self.query = nn.Parameter(torch.zeros(1, dim))
        nn.init.trunc_normal_(self.query, std=0.02)
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, frames, count, dim = tokens.shape
        width = dim // self.heads
        query = self.q(self.query).view(1, self.heads, 1, width)
        keys = [self.k(tokens[:, f]).view(batch, count, self.heads, width).transpose(1, 2) for f in range(frames)]
        values = [self.v(tokens[:, f]).view(batch, count, self.heads, width).transpose(1, 2) for f in range(frames)]
        scores = torch.stack([(query * key).sum(-1) / math.sqrt(width) for key in keys], dim=1)  # (B, F, H, T)
        peak = scores.amax(dim=(1, 3), keepdim=True)
        weights = torch.exp(scores - peak)
        numerator = torch.stack([(weights[:, f].unsqueeze(-1) * values[f]).sum(dim=2) for f in range(frames)], dim=1).sum(dim=1)
        denominator = weights.sum(dim=3).sum(dim=1).unsqueeze(-1)
        pooled = self.out((numerator / denominator).reshape(batch, dim))
        return self.head(self.norm(pooled))


class StepProbe(nn.Module):
    """STEP: frame-wise positional encodings on patch tokens, one frame-global CLS token, pure
    multi-head self-attention, average pooling, linear head (order-aware).

    The backbone's own CLS tokens are dropped; the probe's learnable CLS token is prepended to the
    patch tokens of all frames, each frame's patches shifted by that frame's learnable encoding.
    The attention block is used as is: its output is not added to its input, normalised or passed
    through a feed-forward layer. The mean over all its output tokens (the CLS token's included)
    feeds the head.
    """

    def __init__(self, dim: int, classes: int = 2, heads: int = DEFAULT_HEADS, frames: int = DEFAULT_FRAMES) -> None:
        super().__init__()
        self.frame_encoding = nn.Parameter(torch.zeros(frames, dim))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.frame_encoding, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        self.attention = nn.MultiheadAttention(dim, _heads(dim, heads), batch_first=True)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, frames, _, dim = tokens.shape
        if frames > self.frame_encoding.shape[0]:
            raise ValueError(f"STEP probe has positional encodings for {self.frame_encoding.shape[0]} frames, got {frames}")
        patches = tokens[:, :, 1:] + self.frame_encoding[:frames].view(1, frames, 1, dim)
        sequence = torch.cat([self.cls.expand(batch, 1, dim), patches.reshape(batch, -1, dim)], dim=1)
        attended, _ = self.attention(sequence, sequence, sequence, need_weights=False)
        return self.head(attended.mean(dim=1))


def make_probe(
    name: str, *, dim: int, classes: int = 2, seed: int = 0, heads: int = DEFAULT_HEADS, frames: int = DEFAULT_FRAMES
) -> nn.Module:
    """A freshly initialised probe ``name`` (one of :data:`PROBES`), its weights drawn from ``seed``."""
    if name not in PROBES:
        raise ValueError(f"unknown probe {name!r}; expected one of {', '.join(PROBES)}")
    torch.manual_seed(seed)
    if name == "linear":
        return LinearProbe(dim, classes)
    if name == "attentive":
        return AttentiveProbe(dim, classes, heads)
    return StepProbe(dim, classes, heads, frames)


def trainable_parameters(module: nn.Module) -> int:
    """Parameters the optimiser updates (the backbone is frozen and not part of a probe).

    >>> trainable_parameters(make_probe("linear", dim=8))
    18
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
