"""When to ask an API again, and how long to wait first: backoff that honours ``Retry-After``.

A rate limit (429) or a server error (5xx, 408, 409, a dropped connection) is worth another try;
any other 4xx is the request's own fault and is not. The server's ``Retry-After`` (seconds or an
HTTP date) is what it asked for, so it wins over the exponential backoff, up to a ceiling; the
backoff's jitter keeps concurrent requests from coming back all at once.

>>> policy = RetryPolicy(max_attempts=4, base_s=1.0, cap_s=30.0, max_wait_s=60.0)
>>> policy.retryable(429), policy.retryable(503), policy.retryable(400), policy.retryable(None)
(True, True, False, True)
>>> policy.delay(attempt=0, retry_after="7")
7.0
>>> 2.0 <= policy.delay(attempt=2, retry_after=None) <= 4.0
True
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

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
