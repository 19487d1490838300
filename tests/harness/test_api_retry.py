"""Retry decisions and waits: the server's Retry-After wins, else a bounded, jittered exponential backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.harness.api_retry import RetryPolicy, retry_after_seconds


@given(status=st.integers(100, 599))
def test_only_rate_limits_server_errors_and_timeouts_are_retried(status: int) -> None:
    assert RetryPolicy().retryable(status) == (status >= 500 or status in (408, 409, 429))


@given(asked=st.floats(0, 10_000, allow_nan=False), attempt=st.integers(0, 20))
def test_retry_after_is_obeyed_up_to_the_ceiling(asked: float, attempt: int) -> None:
    policy = RetryPolicy(max_wait_s=120.0)
    assert policy.delay(attempt, repr(asked)) == pytest.approx(min(asked, 120.0))


@given(attempt=st.integers(0, 30), seed=st.integers(0, 1000))
def test_backoff_doubles_within_half_to_full_and_stops_at_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=20.0)
    ceiling = min(20.0, 0.5 * 2**attempt)
    assert ceiling / 2 <= policy.delay(attempt, None, random.Random(seed)) <= ceiling


def test_retry_after_reads_seconds_and_http_dates_and_ignores_nonsense() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0, "a date in the past means now"
    assert retry_after_seconds("later") is None and retry_after_seconds("") is None and retry_after_seconds("nan") is None


def test_a_policy_without_attempts_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
