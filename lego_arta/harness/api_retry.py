"""When to ask an API again, and how long to wait first: backoff that honours ``Retry-After``.

A rate limit (429) or a server error (5xx, 408, 409, a dropped connection) is worth another try;
any other 4xx is the request's own fault and is not. The server's ``Retry-After`` (seconds or an
HTTP date) is what it asked for, so it wins over the exponential backoff, up to a ceiling; the
backoff's jitter keeps concurrent requests from coming back all at once.

The attempts themselves are one loop, :func:`with_retries` (and :func:`call_with_retries` for a
blocking request): the served model (:mod:`lego_arta.harness.served_model`) and ``lego-arta
converse`` (:mod:`lego_arta.harness.conversation`) both send through it, each reading its own
client's errors as a :class:`Failure`.

>>> policy = RetryPolicy(max_attempts=4, base_s=1.0, cap_s=30.0, max_wait_s=60.0)
>>> policy.retryable(429), policy.retryable(503), policy.retryable(400), policy.retryable(None)
(True, True, False, True)
>>> policy.delay(attempt=0, retry_after="7")
7.0
>>> 2.0 <= policy.delay(attempt=2, retry_after=None) <= 4.0
True
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

#: Statuses worth another try besides 5xx: request timeout, conflict, too many requests.
RETRYABLE_STATUSES = frozenset({408, 409, 429})


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta seconds or an HTTP date); ``None`` if absent or unreadable.

    >>> retry_after_seconds("2.5"), retry_after_seconds(None), retry_after_seconds("soon")
    (2.5, None, None)
    >>> retry_after_seconds("Thu, 01 Jan 1970 00:01:40 GMT", now=70.0)
    30.0
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if seconds == seconds else None


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all; waits of ``base_s * 2**attempt`` (half to full, jittered) up to ``cap_s``,
    or the server's ``Retry-After`` up to ``max_wait_s``."""

    max_attempts: int = 6
    base_s: float = 1.0
    cap_s: float = 60.0
    max_wait_s: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if min(self.base_s, self.cap_s, self.max_wait_s) < 0:
            raise ValueError("retry waits must not be negative")

    def retryable(self, status: int | None) -> bool:
        """Whether a failure is worth another try; ``status`` ``None`` is a connection error or timeout."""
        return status is None or status >= 500 or status in RETRYABLE_STATUSES

    def delay(self, attempt: int, retry_after: str | None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0 for the first)."""
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            return min(asked, self.max_wait_s)
        ceiling = min(self.cap_s, self.base_s * 2**attempt)
        return ceiling * (0.5 + 0.5 * (rng or random).random())


@dataclass(frozen=True)
class Failure:
    """A failed attempt as the policy reads it: the HTTP status (``None``: no answer, a dropped
    connection or a timeout) and the server's ``Retry-After`` header, if it sent one."""

    status: int | None
    retry_after: str | None = None


#: What a failed attempt is told to whoever counts or logs retries: ``(attempt, failure, wait_s)``.
OnRetry = Callable[[int, Failure, float], None]


async def with_retries(
    send: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    failure_of: Callable[[Exception], Failure | None],
    *,
    rng: random.Random | None = None,
    on_retry: OnRetry | None = None,
) -> T:
    """Await ``send()`` until it returns, at most ``policy.max_attempts`` times: a raised error that
    ``failure_of`` reads as a retryable :class:`Failure` is waited out (:meth:`RetryPolicy.delay`)
    and sent again; any other error, and the last attempt's, is raised as it is. ``failure_of``
    returns ``None`` for an error that is no failed attempt at all (a spent budget, a bad answer).

    >>> tries = []
    >>> async def flaky() -> str:
    ...     tries.append(1)
    ...     if len(tries) < 3:
    ...         raise ConnectionResetError("dropped")
    ...     return "answer"
    >>> dropped = lambda error: Failure(None) if isinstance(error, ConnectionError) else None
    >>> asyncio.run(with_retries(flaky, RetryPolicy(base_s=0.0), dropped)), len(tries)
    ('answer', 3)
    """
    for attempt in range(policy.max_attempts):
        try:
            return await send()
        except Exception as error:
            failure = failure_of(error)
            if failure is None or not policy.retryable(failure.status) or attempt + 1 == policy.max_attempts:
                raise
            wait = policy.delay(attempt, failure.retry_after, rng)
            if on_retry is not None:
                on_retry(attempt, failure, wait)
        await asyncio.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def call_with_retries(
    send: Callable[[], T],
    policy: RetryPolicy,
    failure_of: Callable[[Exception], Failure | None],
    *,
    rng: random.Random | None = None,
    on_retry: OnRetry | None = None,
) -> T:
    """:func:`with_retries` for a blocking ``send`` (one request at a time, as ``lego-arta converse``
    asks): the same loop, run in an event loop of its own.

    >>> refused = lambda error: Failure(400) if isinstance(error, ValueError) else None
    >>> call_with_retries(lambda: int("x"), RetryPolicy(base_s=0.0), refused)
    Traceback (most recent call last):
    ...
    ValueError: invalid literal for int() with base 10: 'x'
    """

    async def once() -> T:
        return send()

    return asyncio.run(with_retries(once, policy, failure_of, rng=rng, on_retry=on_retry))
