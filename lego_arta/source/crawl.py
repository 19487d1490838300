"""Crawl legoaudioinstructions.com (or a mirror) into raw manual folders (SPEC §1).

Each manual becomes ``<out>/<manual_id>/<manual_id>.html`` (the page bytes as served) plus
``images/<file>`` for every ``img`` of the page's ``div.manual-table-container``, the file named by
the last segment of its ``src``, kept URL-encoded (``sm01-Bag-0012_eop_Step%20%23%23E.png``).

Resumable and atomic, with no marker file:
- every file is written to a hidden ``.<name>.<random>.tmp`` file beside it, then renamed into
  place (:func:`lego_arta.atomic.atomic_write_bytes`), so a file that exists is whole;
- the page is written **last**, so a folder holding the page and every image it references is a
  complete manual, and is skipped without a single request;
- a folder without its page (an interrupted or failed crawl) is finished: the page is fetched again
  to learn its images and only the missing ones are downloaded. Leftover temp files are removed.

Failures are never silent: a page or image that answers 404, stays truncated (body shorter than
``Content-Length``) or does not verify as an image after every retry fails its manual with a reason
naming the file and URL; its folder stays partial (no page) so the next run retries just the rest.
Pages robots.txt forbids are skipped and reported as disallowed.

Not run as a doctest: it needs the network.

    >>> report = crawl(Path("raw"), limit=2)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from PIL import Image
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from tqdm import tqdm

from lego_arta.atomic import atomic_write_bytes
from lego_arta.source.discover import (
    DISCOVER_MODES,
    DiscoveryError,
    ManualRef,
    SetPageProblem,
    discover_index,
    discover_listing,
    site_url,
)
from lego_arta.source.fetch import DEFAULT_USER_AGENT, FetchError, InvalidBody, PoliteClient
from lego_arta.source.layout import HTML_PARSER, SITE_URL, file_name_from_src, images_dir, page_path, split_manual_id

IMAGE_SELECTOR = "div.manual-table-container img[src]"
CONTAINER_SELECTOR = "div.manual-table-container"
#: Temp files of :func:`~lego_arta.atomic.atomic_write_bytes` (``.<name>.<random>.tmp``).
TEMP_FILE_PATTERN = ".*.tmp"

Outcome = Literal["crawled", "complete", "resumed", "failed", "disallowed"]


class ManualPageError(ValueError):
    """A page that cannot be a screen-reader manual: no rows container, no images, clashing names."""


class CrawlError(RuntimeError):
    """The crawl could not start or could not learn which manuals exist."""


@dataclass(frozen=True)
class ImageRef:
    """One image of a page: the on-disk file name (URL-encoded) and the absolute URL to fetch."""

    file_name: str
    url: str


@dataclass(frozen=True)
class ManualOutcome:
    """What happened to one manual (or one set page, keyed by its path, when discovery failed)."""

    manual_id: str
    outcome: Outcome
    reason: str = ""
    images_downloaded: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class CrawlReport:
    """Totals of a crawl; ``failed`` and ``disallowed`` map each manual (or set page) to the reason.

    ``crawled`` were fetched whole in this run, ``resumed`` were partial folders finished in this
    run, ``skipped_complete`` were already complete and cost no request. ``bytes`` counts bytes
    written (pages and images), failed manuals included.
    """

    crawled: tuple[str, ...] = ()
    skipped_complete: tuple[str, ...] = ()
    resumed: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)
    disallowed: dict[str, str] = field(default_factory=dict)
    images_downloaded: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        """No manual failed (robots.txt refusals are reported, not errors)."""
        return not self.failed

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[ManualOutcome]) -> CrawlReport:
        outcomes = tuple(outcomes)

        def ids(kind: Outcome) -> tuple[str, ...]:
            return tuple(o.manual_id for o in outcomes if o.outcome == kind)

        return cls(
            crawled=ids("crawled"),
            skipped_complete=ids("complete"),
            resumed=ids("resumed"),
            failed={o.manual_id: o.reason for o in outcomes if o.outcome == "failed"},
            disallowed={o.manual_id: o.reason for o in outcomes if o.outcome == "disallowed"},
            images_downloaded=sum(o.images_downloaded for o in outcomes),
            bytes=sum(o.bytes for o in outcomes),
        )


def manual_images(html: str | bytes, page_url: str) -> tuple[ImageRef, ...]:
    """Every image of a manual page, in page order, each file once (the start image recurs).

    ``src`` may be site-absolute, relative or a full URL: it is resolved against ``page_url``.
    Raises :class:`ManualPageError` for a page without rows or images, or with two different
    sources sharing one file name (they would overwrite each other on disk).
    """
    soup = BeautifulSoup(html, HTML_PARSER)
    if soup.select_one(CONTAINER_SELECTOR) is None:
        raise ManualPageError(f"no {CONTAINER_SELECTOR} (not a screen-reader manual page)")
    images: dict[str, ImageRef] = {}
    for img in soup.select(IMAGE_SELECTOR):
        src = str(img["src"]).strip()
        ref = ImageRef(file_name=_safe_file_name(src), url=urljoin(page_url, src))
        known = images.setdefault(ref.file_name, ref)
        if known.url != ref.url:
            raise ManualPageError(f"two images share the file name {ref.file_name!r}: {known.url} and {ref.url}")
    if not images:
        raise ManualPageError(f"no images in {CONTAINER_SELECTOR}")
    return tuple(images.values())


def missing_images(folder: Path, images: Sequence[ImageRef]) -> tuple[ImageRef, ...]:
    """The images of a manual not yet saved in its folder (a 0-byte file counts as not saved)."""

    def saved(image: ImageRef) -> bool:
        path = images_dir(folder) / image.file_name
        return path.is_file() and path.stat().st_size > 0

    return tuple(image for image in images if not saved(image))


def verify_image(body: bytes) -> None:
    """Raise :class:`InvalidBody` unless ``body`` is a whole image PIL can verify (CRCs included).

    Every image is checked, whatever its name: an ``.svg`` or extensionless file is no raster image
    the parser could use, and a 0-byte one is no image at all.
    """
    try:
        with Image.open(io.BytesIO(body)) as image:
            image.verify()
    except Exception as error:  # PIL reports damage as OSError, SyntaxError, EOFError, struct.error…
        raise InvalidBody(f"not a valid image ({len(body)} bytes): {type(error).__name__}: {error}") from None


def remove_partial_files(folder: Path) -> int:
    """Delete the temp files of :func:`~lego_arta.atomic.atomic_write_bytes` that an interrupted run
    left in a manual folder; returns how many."""
    leftovers = [p for p in folder.rglob(TEMP_FILE_PATTERN) if p.is_file()] if folder.is_dir() else []
    for leftover in leftovers:
        leftover.unlink()
    return len(leftovers)


def crawl_manual(client: PoliteClient, ref: ManualRef, out: Path, *, progress: bool = False) -> ManualOutcome:
    """Bring one manual folder to completion, fetching only what is missing (see module docs)."""
    folder = out / ref.manual_id
    saved_page = page_path(folder)
    remove_partial_files(folder)
    page_bytes: bytes | None = None
    if saved_page.is_file():
        try:
            images = manual_images(saved_page.read_bytes(), ref.page_url)
        except ManualPageError as error:
            return ManualOutcome(ref.manual_id, "failed", f"saved page {saved_page}: {error}")
    else:
        fetched = _fetch_page(client, ref)
        if isinstance(fetched, _Problem):
            return ManualOutcome(ref.manual_id, fetched.outcome, fetched.reason)
        page_bytes, images = fetched
    missing = missing_images(folder, images)
    if page_bytes is None and not missing:
        return ManualOutcome(ref.manual_id, "complete")
    resuming = page_bytes is None or len(missing) < len(images)
    downloaded, written = 0, 0
    with tqdm(missing, desc=ref.manual_id, unit="image", leave=False, disable=not progress, file=sys.stderr) as bar:  # closed on error too
        for image in bar:
            saved = _download_image(client, image, images_dir(folder) / image.file_name)
            if isinstance(saved, _Problem):
                return ManualOutcome(ref.manual_id, saved.outcome, saved.reason, downloaded, written)
            downloaded += 1
            written += saved
    if page_bytes is not None:
        atomic_write_bytes(saved_page, page_bytes)
        written += len(page_bytes)
    return ManualOutcome(ref.manual_id, "resumed" if resuming else "crawled", "", downloaded, written)


@dataclass(frozen=True)
class _Problem:
    outcome: Outcome
    reason: str


def _fetch_page(client: PoliteClient, ref: ManualRef) -> tuple[bytes, tuple[ImageRef, ...]] | _Problem:
    """The page as served and its images, or why it cannot be had."""
    if not client.allowed(ref.page_url):
        return _Problem("disallowed", f"page {ref.page_url} disallowed by robots.txt")
    try:
        response = client.fetch(ref.page_url)
    except FetchError as error:
        return _Problem("failed", f"page {error}")
    if not response.ok:
        return _Problem("failed", f"page {ref.page_url}: HTTP {response.status}")
    try:
        return response.content, manual_images(response.content, ref.page_url)
    except ManualPageError as error:
        return _Problem("failed", f"page {ref.page_url}: {error}")


def _download_image(client: PoliteClient, image: ImageRef, target: Path) -> int | _Problem:
    """Fetch one image into ``target``; the bytes written, or why it could not be."""
    label = f"image {image.file_name!r} ({image.url})"
    if not client.host_allowed(image.url):
        return _Problem("disallowed", f"{label} is on another host (allow it with --allow-host)")
    if not client.allowed(image.url):
        return _Problem("disallowed", f"{label} disallowed by robots.txt")
    try:
        response = client.fetch(image.url, check=verify_image)
    except FetchError as error:
        return _Problem("failed", f"{label}: {error.reason}")
    if not response.ok:
        return _Problem("failed", f"{label}: HTTP {response.status}")
    kind = response.headers.get("Content-Type", "image/").split(";", 1)[0].strip().lower()
    if not kind.startswith("image/") or kind == "image/svg+xml":
        return _Problem("failed", f"{label}: served as {kind!r}, not a raster image")
    atomic_write_bytes(target, response.content)
    return len(response.content)


def crawl(
    out: Path,
    *,
    base_url: str = SITE_URL,
    discover: str = "listing",
    manuals: Sequence[str] | None = None,
    delay: float = 1.0,
    retries: int = 4,
    backoff: float = 0.5,
    timeout: float = 30,
    deadline: float | None = None,
    allow_hosts: Sequence[str] = (),
    user_agent: str = DEFAULT_USER_AGENT,
    limit: int | None = None,
    progress: bool = True,
) -> CrawlReport:
    """Crawl manuals into ``out``: the ones named in ``manuals``, else every manual discovered
    through the listing pages (``discover="listing"``) or the WordPress page index (``"index"``).

    ``limit`` keeps the first N manuals in discovery order (complete ones count too, so repeated
    ``limit`` runs never go further). Raises :class:`CrawlError` when the site's listing or index
    cannot be read; per-manual problems land in the report instead.
    """
    if discover not in DISCOVER_MODES:
        raise ValueError(f"discover must be one of {', '.join(DISCOVER_MODES)}; got {discover!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1; got {limit}")
    for name, value, low in (("delay", delay, 0.0), ("timeout", timeout, 0.0), ("deadline", deadline, 0.0)):
        if value is not None and not (math.isfinite(value) and value >= low and (name == "delay" or value > 0)):
            raise ValueError(
                f"{name} must be a finite number of seconds above 0 (delay: 0 or more); got {value}"
            )  # nan: the deadline was off
    for manual in manuals or ():
        split_manual_id(manual)
    out.mkdir(parents=True, exist_ok=True)
    with PoliteClient(
        base_url,
        delay=delay,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        user_agent=user_agent,
        deadline=deadline,
        allow_hosts=allow_hosts,
    ) as client:
        try:
            client.load_robots()
        except FetchError as error:
            raise CrawlError(f"cannot reach {base_url}: {error.reason}; check --base-url and the network") from None
        refs, outcomes = _manuals_to_crawl(client, base_url, discover, manuals, limit, progress)
        with tqdm(refs, desc="crawl", unit="manual", disable=not progress, file=sys.stderr) as bar:  # closed on error too
            for ref in bar:
                outcomes.append(crawl_manual(client, ref, out, progress=progress))
    return CrawlReport.from_outcomes(outcomes)


def _manuals_to_crawl(
    client: PoliteClient,
    base_url: str,
    discover: str,
    manuals: Sequence[str] | None,
    limit: int | None,
    progress: bool,
) -> tuple[list[ManualRef], list[ManualOutcome]]:
    """The manuals to crawl (first ``limit``, no repeats) and the set pages that yielded none."""
    if manuals:
        found: Iterable[ManualRef | SetPageProblem] = (ManualRef(manual, site_url(base_url, f"/{manual}/")) for manual in manuals)
    elif discover == "index":
        found = discover_index(client, base_url)
    else:
        found = discover_listing(client, base_url)
    refs: dict[str, ManualRef] = {}
    problems: list[ManualOutcome] = []
    bar = tqdm(desc=f"discover ({discover})", unit="manual", disable=not progress or bool(manuals), file=sys.stderr)
    try:
        for item in found:
            if isinstance(item, SetPageProblem):
                problems.append(ManualOutcome(item.key, "disallowed" if item.disallowed else "failed", item.reason))
                continue
            if item.manual_id not in refs:
                refs[item.manual_id] = item
                bar.update()
            if limit is not None and len(refs) >= limit:
                break
    except DiscoveryError as error:
        raise CrawlError(f"cannot discover manuals on {base_url}: {error}") from None
    finally:
        bar.close()
    return list(refs.values()), problems


def render_report(report: CrawlReport) -> Group:
    """A rich summary: counts per outcome, then every failed or disallowed manual with its reason."""
    summary = Table(title="lego-arta crawl")
    summary.add_column("outcome")
    summary.add_column("manuals", justify="right")
    for name, count in (
        ("crawled", len(report.crawled)),
        ("resumed (partial folder finished)", len(report.resumed)),
        ("skipped (already complete)", len(report.skipped_complete)),
        ("disallowed by robots.txt", len(report.disallowed)),
        ("failed", len(report.failed)),
    ):
        summary.add_row(name, str(count))
    summary.caption = f"{report.images_downloaded} images downloaded, {report.bytes:,} bytes written"
    parts: list[Table] = [summary]
    problems = [("failed", m, r) for m, r in sorted(report.failed.items())]
    problems += [("disallowed", m, r) for m, r in sorted(report.disallowed.items())]
    if problems:
        details = Table(title="not crawled")
        for column in ("outcome", "manual", "reason"):
            details.add_column(column, overflow="fold")
        for row in problems:
            details.add_row(*(escape(cell) for cell in row))
        parts.append(details)
    return Group(*parts)


def _safe_file_name(src: str) -> str:
    """The on-disk name of an image, refusing names that would escape the images folder."""
    name = file_name_from_src(src)
    if name in (".", "..") or "\\" in name or "\x00" in name:
        raise ManualPageError(f"image src {src!r} has an unsafe file name {name!r}")
    return name
