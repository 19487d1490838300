"""Probes on synthetic frame tokens: order-blind probes are exact under reversal, STEP sees order."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.probe.heads import PROBES, make_probe, trainable_parameters
from lego_arta.probe.items import ProbeItem, ProbeSplit
from lego_arta.probe.run import parse_names, score_probe
from lego_arta.probe.train import FrameBank, TrainSettings, predict, train_probe


def order_bank(pairs: int, seed: int, *, dim: int = 16, patches: int = 8, shift: float = 3.0) -> tuple[FrameBank, ProbeSplit]:
    """A balanced order task where order is the only signal: each pair's two frames appear in both
    orders (attached = early → late, removed = late → early); the late frame's patches are shifted
    by ``shift`` along one direction, so the *set* of frames is the same for both labels. Pairs
    belong to six manuals."""
    generator = torch.Generator().manual_seed(seed)
    early = torch.randn(pairs, 1 + patches, dim, generator=generator)
    late = early.clone()
    late[:, 1:, 0] += shift
    tokens, split = {}, ProbeSplit("order", "test")
    for i in range(pairs):
        a, b = f"{seed}-early-{i}", f"{seed}-late-{i}"
        tokens[a], tokens[b] = early[i], late[i]
        for attached, frames in ((1, (a, b)), (0, (b, a))):
            split.items.append(
                ProbeItem(
                    f"{seed}-{i}-{attached}", frames, attached, 1 - attached, "attached" if attached else "removed", f"manual-{i % 6}"
                )
            )
            split.references.setdefault("label", []).append(bool(attached))
            split.references.setdefault("pair", []).append({"id": f"{seed}-{i}", "attached": bool(attached)})
    return FrameBank.of([item.frames for item in split.items], tokens), split


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["linear", "attentive"]), st.integers(1, 4), st.integers(2, 7), st.sampled_from([8, 12, 16]), st.integers(0, 2**16))
def test_order_blind_probes_give_identical_outputs_with_the_frames_reversed(
    name: str, batch: int, tokens: int, dim: int, seed: int
) -> None:
    probe = make_probe(name, dim=dim, seed=seed)
    frames = torch.randn(batch, 2, tokens, dim, generator=torch.Generator().manual_seed(seed)) * 3
    assert torch.equal(probe(frames), probe(frames.flip(1)))


def test_step_outputs_change_with_the_frames_reversed() -> None:
    probe = make_probe("step", dim=16, seed=0)
    frames = torch.randn(4, 2, 5, 16, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(probe(frames), probe(frames.flip(1)))


@pytest.mark.parametrize("name", ["linear", "attentive"])
def test_order_blind_probes_score_exactly_50_with_flip_rate_0_on_the_balanced_order_task(name: str) -> None:
    train, train_split = order_bank(24, seed=0)
    test, test_split = order_bank(16, seed=1)
    trained = train_probe(name, train, [item.label for item in train_split.items], TrainSettings(epochs=3, lr=1e-2, seed=0))
    forward, backward = predict(trained.module, test), predict(trained.module, test.reversed())
    scores = score_probe("order", test_split, forward, backward)
    assert (scores["accuracy"], scores["flip_rate"]) == (50.0, 0.0)
    assert scores["accuracy_reversed"] == 50.0 and scores["scores"]["order_pair_accuracy"] == 0.0


def test_step_learns_a_task_where_order_is_the_only_signal() -> None:
    train, train_split = order_bank(96, seed=0)
    test, test_split = order_bank(32, seed=1)
    trained = train_probe("step", train, [item.label for item in train_split.items], TrainSettings(epochs=30, lr=3e-3, seed=0))
    forward, backward = predict(trained.module, test), predict(trained.module, test.reversed())
    scores = score_probe("order", test_split, forward, backward)
    assert scores["accuracy"] > 90.0 and scores["accuracy_reversed"] > 90.0
    assert scores["flip_rate"] > 80.0 and scores["scores"]["order_flip_consistency"] > 80.0


def test_training_is_reproducible_for_a_seed() -> None:
    train, split = order_bank(8, seed=0)
    labels = [item.label for item in split.items]
    first, second = (train_probe("step", train, labels, TrainSettings(epochs=2, seed=3)).module for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def test_parameter_counts_at_the_dinov2_base_width() -> None:
    counts = {name: trainable_parameters(make_probe(name, dim=768)) for name in PROBES}
    assert counts["linear"] == 768 * 2 + 2
    # STEP: attention in/out projections (4·768² + 4·768), two frame encodings, one CLS token, the head.
    assert counts["step"] == 4 * 768 * 768 + 4 * 768 + 2 * 768 + 768 + 768 * 2 + 2


def test_bad_names_and_settings_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown probe task colour"):
        parse_names("order,colour", ("state", "order"), "probe task")
    with pytest.raises(ValueError, match="unknown probe 'mlp'"):
        make_probe("mlp", dim=8)
    with pytest.raises(ValueError, match="epochs >= 1"):
        TrainSettings(epochs=0)
    assert np.array_equal(order_bank(2, 0)[0].reversed().reversed().index, order_bank(2, 0)[0].index)
