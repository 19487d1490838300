"""Probe epochs chosen on held-out train manuals: grouped by manual, seeded, deterministic, and
enough training that STEP learns where a fixed 30 epochs left it guessing (issue 26 part 6)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.probe.run import score_probe
from lego_arta.probe.train import EpochChoice, TrainSettings, choose_epochs, fit_probe, held_out_manuals, predict, train_probe
from tests.probe.test_heads import order_bank


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([f"m{i}" for i in range(12)]), min_size=1, max_size=40), st.floats(0.01, 0.99), st.integers(0, 2**16))
def test_held_out_manuals_are_a_seeded_proper_subset_of_the_distinct_manuals(manuals: list[str], share: float, seed: int) -> None:
    held = held_out_manuals(manuals, share, seed)
    distinct = set(manuals)
    assert held == held_out_manuals(sorted(manuals, reverse=True), share, seed)  # the rows' order does not matter
    assert list(held) == sorted(set(held)) and set(held) <= distinct
    if len(distinct) < 2:
        assert held == ()
    else:
        assert 1 <= len(held) < len(distinct)


def test_no_holdout_trains_exactly_the_given_epochs() -> None:
    bank, split = order_bank(8, seed=0)
    labels, manuals = [item.label for item in split.items], [item.manual for item in split.items]
    assert choose_epochs("step", bank, labels, manuals, TrainSettings(epochs=7, holdout=0.0)) == EpochChoice(7, 7)
    assert choose_epochs("step", bank, labels, ["one manual"] * len(labels), TrainSettings(epochs=7)) == EpochChoice(7, 7)


def test_the_chosen_epoch_has_the_lowest_held_out_loss_on_held_out_manuals_only() -> None:
    bank, split = order_bank(16, seed=0, patches=4)
    labels, manuals = [item.label for item in split.items], [item.manual for item in split.items]
    setup = TrainSettings(epochs=20, lr=3e-3, patience=3, seed=2)
    choice = choose_epochs("step", bank, labels, manuals, setup)
    assert choice == choose_epochs("step", bank, labels, manuals, setup)  # deterministic for a seed
    assert choice.held_out_manuals == held_out_manuals(manuals, setup.holdout, setup.seed)
    assert choice.held_out_items == sum(manual in choice.held_out_manuals for manual in manuals)
    losses = [loss for _, loss, _ in choice.curve]
    assert [epoch for epoch, _, _ in choice.curve] == list(range(1, len(choice.curve) + 1))
    assert losses[choice.chosen - 1] == min(losses) and losses.index(min(losses)) == choice.chosen - 1
    assert len(choice.curve) == setup.epochs or len(choice.curve) == choice.chosen + setup.patience  # stopped early, or ran out


def test_fit_probe_retrains_on_every_item_for_the_chosen_epochs() -> None:
    bank, split = order_bank(8, seed=0, patches=4)
    labels, manuals = [item.label for item in split.items], [item.manual for item in split.items]
    setup = TrainSettings(epochs=6, lr=3e-3, patience=2, seed=1)
    trained, choice = fit_probe("step", bank, labels, manuals, setup)
    again = train_probe("step", bank, labels, setup, epochs=choice.chosen)
    assert all(torch.equal(a, b) for a, b in zip(trained.module.state_dict().values(), again.module.state_dict().values()))


@pytest.mark.slow
def test_the_default_settings_do_not_leave_step_guessing_where_thirty_fixed_epochs_did() -> None:
    """Order is the only signal: at the old fixed default (30 epochs, lr 1e-3, no held-out choice)
    STEP has not learned it yet and guesses one class; with the epochs chosen on held-out manuals it has."""
    train, train_split = order_bank(48, seed=0, patches=4)
    test, test_split = order_bank(32, seed=1, patches=4)
    labels, manuals = [item.label for item in train_split.items], [item.manual for item in train_split.items]

    def scores(module: torch.nn.Module) -> dict:
        return score_probe("order", test_split, predict(module, test), predict(module, test.reversed()))

    fixed = scores(train_probe("step", train, labels, TrainSettings(epochs=30, lr=1e-3, holdout=0.0)).module)
    trained, choice = fit_probe("step", train, labels, manuals, TrainSettings())
    chosen = scores(trained.module)
    assert fixed["accuracy"] <= 60.0 and chosen["accuracy"] >= 90.0 and chosen["flip_rate"] >= 80.0, (fixed, chosen, choice.chosen)
    assert choice.chosen > 30 and choice.held_out_items > 0
