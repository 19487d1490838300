"""A polite HTTP client for crawling one site: identifying User-Agent, a pause between requests,
robots.txt, and retries with exponential backoff that honour ``Retry-After``.

One retry loop covers every transient failure the crawler meets — HTTP 429/5xx, dropped
connections, timeouts, bodies shorter than their ``Content-Length``, and bodies that fail a
caller's check (a PNG that does not verify) — so a flaky server costs a few retries instead of a
corrupt file. urllib3's ``Retry`` covers only the first two, which is why the loop is ours.

Not run as a doctest: it needs a web server.

    >>> with PoliteClient("http://127.0.0.1:8000", delay=0) as client:  # doctest: +SKIP
    ...     client.load_robots()
    ...     page = client.fetch("http://127.0.0.1:8000/lego-60263-ocean-mini-submarine-readscr/")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests
import urllib3

from lego_arta import __version__

DEFAULT_USER_AGENT = f"lego-arta/{__version__} (+https://huggingface.co/datasets/lego-arta/lego-arta; research crawler)"
#: Statuses worth asking again for: rate limiting and server-side hiccups.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
#: A server asking us to come back later than this is treated as a hard failure, not waited out.
MAX_RETRY_AFTER_S = 300.0
ROBOTS_PATH = "/robots.txt"
#: Redirects followed per request; each hop is paced like a request, and a longer chain (a loop) fails at once.
MAX_REDIRECTS = 5
REDIRECT_STATUSES: frozenset[int] = frozenset({301, 302, 303, 307, 308})
#: Largest body accepted: real pages are under 1 MB and images a few MB.
MAX_BODY_BYTES = 64 * 1024 * 1024


class FetchError(RuntimeError):
    """A URL that could not be fetched even after every retry; the message says why."""

    def __init__(self, url: str, reason: str, *, no_answer: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        #: The last attempt got no HTTP answer at all (refused, unknown host, timed out): the site may be down or mistyped.
        self.no_answer = no_answer


class _TooSlow(Exception):
    """One attempt ran past the client's deadline (retried like a timeout)."""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class InvalidBody(ValueError):
    """Raised by a body check: the bytes arrived but are not what the URL should hold."""


@dataclass(frozen=True)
class Fetched:
    """A final (non-retryable) response: its status and the complete body."""

    url: str
    status: int
    content: bytes
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status == 200


def backoff_delay(backoff: float, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): ``backoff * 2**attempt``, or the
    server's ``Retry-After`` when that is longer.

    >>> backoff_delay(0.5, 0), backoff_delay(0.5, 3), backoff_delay(0.5, 0, retry_after=4.0)
    (0.5, 4.0, 4.0)
    """
    delay = backoff * (2**attempt)
    return max(delay, retry_after) if retry_after is not None else delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None if absent or junk.

    >>> parse_retry_after("120"), parse_retry_after("soon")
    (120.0, None)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc))
    30.0
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def content_length_mismatch(headers: dict[str, str], body: bytes) -> str | None:
    """Why a body is shorter/longer than its declared ``Content-Length``, or None when it matches.

    Compressed bodies are skipped: their ``Content-Length`` counts the encoded bytes.
    """
    declared = headers.get("Content-Length")
    if declared is None or headers.get("Content-Encoding", "identity") != "identity":
        return None
    try:
        expected = int(declared)
    except ValueError:
        return f"unreadable Content-Length {declared!r}"
    if expected != len(body):
        return f"truncated body: {len(body)} of {expected} bytes (Content-Length)"
    return None


class PoliteClient:
    """One ``requests.Session`` per crawl, paced and retried, that obeys the site's robots.txt.

    ``sleep`` and ``clock`` are injectable so the pacing itself can be tested without waiting.
    """

    def __init__(
        self,
        base_url: str,
        *,
        delay: float = 1.0,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 30.0,
        user_agent: str = DEFAULT_USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
        allow_hosts: Collection[str] = (),
    ) -> None:
        if delay < 0 or retries < 0 or backoff < 0 or timeout <= 0 or (deadline is not None and deadline <= 0):
            raise ValueError(
                f"need delay >= 0, retries >= 0, backoff >= 0, timeout > 0 and deadline > 0; got delay={delay}, "
                f"retries={retries}, backoff={backoff}, timeout={timeout}, deadline={deadline}"
            )
        self.base_url = base_url.rstrip("/") + "/"
        #: Hosts requests may go to: the site's own and those the user allows (``--allow-host``).
        self.hosts = frozenset({_host(self.base_url), *(h.lower() for h in allow_hosts)})
        #: Wall-clock seconds one attempt may take, redirects and body included (``timeout`` bounds one read).
        self.deadline = 4 * timeout if deadline is None else deadline
        self.delay = delay
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.user_agent = user_agent
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self._robots: RobotFileParser | None = None
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def load_robots(self) -> None:
        """Fetch and apply the site's robots.txt (urllib.robotparser rules).

        Like :meth:`RobotFileParser.read`: 401/403 forbid everything, any other 4xx allows
        everything, and a robots.txt that stays unavailable (5xx after retries) forbids everything.
        A site that gives no HTTP answer at all (down, or a mistyped host) raises the
        :class:`FetchError`: reporting every manual as "disallowed by robots.txt" would hide it.
        A ``Crawl-delay`` for our agent raises the pause between requests.
        """
        robots = RobotFileParser(urljoin(self.base_url, ROBOTS_PATH))
        try:
            response = self.fetch(robots.url)
        except FetchError as error:
            if error.no_answer:
                raise
            robots.disallow_all = True
        else:
            if response.status in (401, 403):
                robots.disallow_all = True
            elif 400 <= response.status < 500:
                robots.allow_all = True
            else:
                robots.parse(response.content.decode("utf-8", errors="replace").splitlines())
                crawl_delay = robots.crawl_delay(self.user_agent)
                if crawl_delay is not None:
                    self.delay = max(self.delay, float(crawl_delay))
        self._robots = robots

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our User-Agent fetch ``url`` (everything before :meth:`load_robots`)."""
        if self._robots is None:
            return True
        if self._robots.disallow_all:
            return False
        return self._robots.allow_all or self._robots.can_fetch(self.user_agent, url)

    def fetch(
        self,
        url: str,
        *,
        check: Callable[[bytes], None] | None = None,
        final_statuses: Collection[int] = (),
    ) -> Fetched:
        """GET ``url`` until it answers with a final status and a whole, valid body.

        Retried: statuses in :data:`RETRY_STATUSES`, network errors, truncated bodies, and bodies
        for which ``check`` raises :class:`InvalidBody` (checked only on 200). A status in
        ``final_statuses`` is returned at once even if it is normally retried. Any other status is
        returned as is for the caller to judge. Raises :class:`FetchError` once retries run out.
        """
        reason = "no attempt made"
        retry_after: float | None = None
        no_answer = False
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(backoff_delay(self.backoff, attempt - 1, retry_after))
            retry_after = None
            try:
                response, body = self._get(url)
            except requests.exceptions.ChunkedEncodingError as error:
                reason = f"truncated body ({error})"
                continue
            except _TooSlow as error:
                reason, no_answer = str(error), False
                continue
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                reason, no_answer = f"{type(error).__name__}: {error}", True
                continue
            no_answer = False
            headers = dict(response.headers)
            status = response.status_code
            if status in RETRY_STATUSES and status not in final_statuses:
                reason = f"HTTP {status} {response.reason}"
                retry_after = parse_retry_after(headers.get("Retry-After"))
                if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
                    raise FetchError(url, f"{reason} with Retry-After {retry_after:.0f} s (> {MAX_RETRY_AFTER_S:.0f} s)")
                continue
            mismatch = content_length_mismatch(headers, body)
            if mismatch is not None:
                reason = mismatch
                continue
            if status == 200 and check is not None:
                try:
                    check(body)
                except InvalidBody as error:
                    reason = str(error)
                    continue
            return Fetched(url=url, status=status, content=body, headers=headers)
        tries = self.retries + 1
        raise FetchError(url, f"{reason} (after {tries} attempt{'s' if tries > 1 else ''})", no_answer=no_answer)

    def host_allowed(self, url: str) -> bool:
        """Whether ``url`` is on the site's host or one the user allowed."""
        return _host(url) in self.hosts

    def _get(self, url: str) -> tuple[requests.Response, bytes]:
        """One attempt: GET with redirects followed by hand (capped, paced, host-checked) and the
        body read under :attr:`deadline`. A redirect loop or an off-site hop is a final
        :class:`FetchError`; a body too slow to arrive raises :class:`_TooSlow` (retried)."""
        started = time.monotonic()
        for _ in range(MAX_REDIRECTS + 1):
            if not self.host_allowed(url):
                raise FetchError(url, f"host {_host(url)!r} is not the site's and not allowed (--allow-host)")
            self._pace()
            remaining = self.deadline - (time.monotonic() - started)
            if remaining <= 0:
                raise _TooSlow(f"no answer within the {self.deadline:g} s deadline")
            response = self.session.get(url, timeout=min(self.timeout, remaining), stream=True, allow_redirects=False)
            location = response.headers.get("Location")
            if response.status_code in REDIRECT_STATUSES and location:
                response.close()
                url = urljoin(url, location)
                continue
            return response, self._read_body(response, started)
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects (a redirect loop?)")

    def _read_body(self, response: requests.Response, started: float) -> bytes:
        """The whole body, read as it arrives; a trickle past the deadline or an oversized body stops it."""
        chunks: list[bytes] = []
        size = 0
        announced = response.headers.get("Content-Length", "")
        if announced.strip().isdigit() and int(announced) > MAX_BODY_BYTES:
            response.close()
            raise FetchError(response.url, f"body of {int(announced):,} bytes (Content-Length) is larger than {MAX_BODY_BYTES:,} bytes")
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise FetchError(response.url, f"body larger than {MAX_BODY_BYTES:,} bytes (stopped reading at {size:,})")
                if time.monotonic() - started > self.deadline:
                    raise _TooSlow(f"body not complete within the {self.deadline:g} s deadline ({size:,} bytes so far)")
        except urllib3.exceptions.ProtocolError as error:  # the connection ended before the body did
            raise requests.exceptions.ChunkedEncodingError(error) from error
        finally:
            response.close()
        return b"".join(chunks)

    def _pace(self) -> None:
        """Keep at least ``delay`` seconds between the starts of two requests."""
        now = self._clock()
        if self._last_request is not None:
            wait = self._last_request + self.delay - now
            if wait > 0:
                self._sleep(wait)
                now += wait
        self._last_request = now
