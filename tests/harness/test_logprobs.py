"""P(Yes) from OpenAI logprobs: the positive word's mass at the first position that offers a verdict."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.harness.logprobs import p_yes_from_logprobs, verdict_words

#: How each candidate token reads, written out by hand: positive, negative or neither.
READS = {
    "Yes": "pos",
    " yes": "pos",
    "YES": "pos",
    "**Yes": "pos",
    "Ye": "pos",
    "No": "neg",
    " no": "neg",
    "NO.": "neg",
    "Maybe": None,
    "**": None,
    "Answer": None,
    ":": None,
    " I": None,
    "N": None,
    "Y": None,
    "yesterday": None,
}


@given(st.lists(st.lists(st.tuples(st.sampled_from(sorted(READS)), st.floats(-20, 0)), min_size=1, max_size=5), max_size=6))
def test_p_yes_is_the_yes_mass_at_the_first_position_that_offers_a_verdict(positions: list[list[tuple[str, float]]]) -> None:
    content = [
        {"token": top[0][0], "logprob": top[0][1], "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]} for top in positions
    ]
    verdict_at = next((i for i, top in enumerate(positions) if any(READS[t] for t, _ in top)), None)
    if verdict_at is None:
        assert p_yes_from_logprobs(content) is None
        return
    listed = dict(positions[verdict_at])  # one probability per token, as a server lists them
    expected = min(1.0, sum(math.exp(lp) for t, lp in listed.items() if READS[t] == "pos"))
    assert p_yes_from_logprobs(content) == pytest.approx(expected, abs=1e-9)


def test_the_order_task_asks_for_attached_and_reads_a_split_token() -> None:
    assert verdict_words("lego_arta_order") == ("attached", "removed")
    assert verdict_words("lego_arta_state_syn_noctx") == ("yes", "no")
    content = [
        {
            "token": "Att",
            "logprob": math.log(0.6),
            "top_logprobs": [{"token": "Att", "logprob": math.log(0.6)}, {"token": "Rem", "logprob": math.log(0.3)}],
        }
    ]
    assert p_yes_from_logprobs(content, ("attached", "removed")) == pytest.approx(0.6)


def test_no_logprobs_means_no_probability() -> None:
    assert p_yes_from_logprobs(None) is None and p_yes_from_logprobs([]) is None
    assert verdict_words("lego_arta_object_icl") is None
