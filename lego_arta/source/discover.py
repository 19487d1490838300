"""Find the manual pages of the site: through its listing pages (default) or its WordPress page index.

Listing route (SPEC §1)::

    /instructions/?pagenumber=N     cards  a.mtt-instruction-card[href] → set pages
    /instructions/<set>-<slug>/     the first a.button.icon linking to a manual page
    /<manual_id>/                   the screen-reader page

Index route: ``/wp-json/wp/v2/pages?per_page=100&page=N&_fields=slug,link`` lists every page as
``{slug, link}``; WordPress answers HTTP 400 past the last page. Only slugs that read as manual ids
(``lego-<set>-<name>[-readscr]``) are kept: the index also lists "about", "contact" and the like.

The HTML/JSON readers are pure functions; the generators walk the site through a
:class:`~lego_arta.source.fetch.PoliteClient` and yield each manual as soon as it is known, so a
``--limit`` crawl stops discovering early.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from lego_arta.source.fetch import FetchError, PoliteClient
from lego_arta.source.layout import HTML_PARSER, LISTING_PATH, PAGE_INDEX_PATH, split_manual_id

DiscoverMode = Literal["listing", "index"]
DISCOVER_MODES: tuple[DiscoverMode, ...] = ("listing", "index")

CARD_SELECTOR = "a.mtt-instruction-card[href]"
MANUAL_BUTTON_SELECTOR = "a.button.icon[href]"
INDEX_PER_PAGE = 100
#: Pagination safety stop: the real listing has a few dozen pages; more means a server that never ends.
MAX_PAGES = 1000
#: What a page number past the last page answers: 404 for the listing, 400 for WordPress' REST index.
PAST_END_STATUSES: frozenset[int] = frozenset({400, 404})


class DiscoveryError(RuntimeError):
    """The site's listing or index could not be read, so the set of manuals is unknown."""


@dataclass(frozen=True)
class ManualRef:
    """A manual to crawl: its id (the folder name) and the URL of its screen-reader page."""

    manual_id: str
    page_url: str


@dataclass(frozen=True)
class SetPageProblem:
    """A set page that yielded no manual, with the reason; ``disallowed`` when robots.txt said no."""

    url: str
    reason: str
    disallowed: bool = False

    @property
    def key(self) -> str:
        """How the problem is named in a crawl report: the set page's path."""
        return urlsplit(self.url).path or self.url


def site_url(base_url: str, path: str) -> str:
    """``path`` (site-absolute) on the site at ``base_url``, keeping any path prefix of the base.

    >>> site_url("http://127.0.0.1:8000/mirror/", "/instructions/?pagenumber=2")
    'http://127.0.0.1:8000/mirror/instructions/?pagenumber=2'
    """
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def manual_id_from_url(url: str) -> str | None:
    """The manual id a page URL names (its last path segment), or None if it is not one.

    >>> manual_id_from_url("https://x.org/lego-60263-ocean-mini-submarine-readscr/")
    'lego-60263-ocean-mini-submarine-readscr'
    >>> manual_id_from_url("https://x.org/instructions/60263-ocean-mini-submarine/") is None
    True
    """
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    try:
        split_manual_id(segment)
    except ValueError:
        return None
    return segment


def listing_set_pages(html: str | bytes, page_url: str) -> tuple[str, ...]:
    """Absolute URLs of the set pages carded on one listing page, in page order, without repeats."""
    soup = BeautifulSoup(html, HTML_PARSER)
    urls = (urljoin(page_url, str(card["href"]).strip()) for card in soup.select(CARD_SELECTOR))
    return tuple(dict.fromkeys(urls))


def manual_page_link(html: str | bytes, set_url: str) -> str | None:
    """The manual page a set page links to: the first ``a.button.icon`` whose target reads as a
    manual id. Accepts pages with or without ``-readscr`` (one real page lacks it)."""
    soup = BeautifulSoup(html, HTML_PARSER)
    for button in soup.select(MANUAL_BUTTON_SELECTOR):
        url = urljoin(set_url, str(button["href"]).strip())
        if manual_id_from_url(url) is not None:
            return url
    return None


@dataclass(frozen=True)
class IndexEntry:
    """One page of the WordPress index: its slug and its public link."""

    slug: str
    link: str | None


def parse_index_page(payload: bytes, *, source: str = "<index>") -> tuple[IndexEntry, ...]:
    """Entries of one page of the WordPress page index (a JSON list of ``{slug, link}``).

    Raises :class:`DiscoveryError` naming ``source`` when the payload is not such a list.
    """
    try:
        entries = json.loads(payload)
    except ValueError as error:
        raise DiscoveryError(f"{source}: page index is not JSON ({error})") from None
    if not isinstance(entries, list):
        raise DiscoveryError(f"{source}: page index should be a JSON list, got {type(entries).__name__}")
    parsed: list[IndexEntry] = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str):
            raise DiscoveryError(f"{source}: entry {number} should be an object with a string 'slug', got {entry!r}")
        link = entry.get("link")
        parsed.append(IndexEntry(slug=entry["slug"], link=link if isinstance(link, str) else None))
    return tuple(parsed)


def index_manual_refs(entries: tuple[IndexEntry, ...], base_url: str) -> tuple[ManualRef, ...]:
    """The index entries that are manual pages, their links' paths rebased onto ``base_url``.

    Rebasing keeps a mirror or test server crawling itself, not the host the index happens to name.

    >>> index_manual_refs((IndexEntry("about", "https://x.org/about/"),
    ...                    IndexEntry("lego-1-a-readscr", "https://x.org/lego-1-a-readscr/")), "http://m")
    (ManualRef(manual_id='lego-1-a-readscr', page_url='http://m/lego-1-a-readscr/'),)
    """
    refs: list[ManualRef] = []
    for entry in entries:
        if manual_id_from_url(f"/{entry.slug}/") != entry.slug:
            continue
        path = urlsplit(entry.link).path if entry.link else ""
        if not path.strip("/"):
            path = f"/{entry.slug}/"
        refs.append(ManualRef(manual_id=entry.slug, page_url=site_url(base_url, path)))
    return tuple(refs)


def discover_listing(client: PoliteClient, base_url: str) -> Iterator[ManualRef | SetPageProblem]:
    """Walk the listing pages, then each set page, yielding manuals (and set pages without one).

    The listing ends at a page with no cards, a 404, or a page repeating the previous one's cards.
    """
    seen_sets: set[str] = set()
    previous: tuple[str, ...] = ()
    for number in range(1, MAX_PAGES + 1):
        url = site_url(base_url, f"{LISTING_PATH}?pagenumber={number}")
        response = _fetch_discovery_page(client, url, "listing page", first=number == 1)
        if response is None:
            return
        set_urls = listing_set_pages(response, url)
        if not set_urls or set_urls == previous:
            return
        previous = set_urls
        for set_url in set_urls:
            if set_url not in seen_sets:
                seen_sets.add(set_url)
                yield _manual_of_set_page(client, set_url)
    raise DiscoveryError(f"listing did not end after {MAX_PAGES} pages ({base_url}{LISTING_PATH})")


def discover_index(client: PoliteClient, base_url: str) -> Iterator[ManualRef]:
    """Walk the WordPress page index, yielding every page whose slug reads as a manual id."""
    for number in range(1, MAX_PAGES + 1):
        url = site_url(base_url, f"{PAGE_INDEX_PATH}?per_page={INDEX_PER_PAGE}&page={number}&_fields=slug,link")
        payload = _fetch_discovery_page(client, url, "page index", first=number == 1)
        entries = parse_index_page(payload, source=url) if payload is not None else ()
        if not entries:
            return
        yield from index_manual_refs(entries, base_url)
    raise DiscoveryError(f"page index did not end after {MAX_PAGES} pages ({base_url}{PAGE_INDEX_PATH})")


def _fetch_discovery_page(client: PoliteClient, url: str, what: str, *, first: bool) -> bytes | None:
    """Body of a listing/index page; None past the last page (404, or WordPress' 400 for the index).

    The first page must exist: a site without it has nothing to discover.
    """
    if not client.allowed(url):
        raise DiscoveryError(f"robots.txt disallows the {what} {url}")
    try:
        response = client.fetch(url)
    except FetchError as error:
        raise DiscoveryError(f"{what} {error}") from None
    if response.status in PAST_END_STATUSES and not first:
        return None
    if not response.ok:
        raise DiscoveryError(f"{what} {url}: HTTP {response.status}")
    return response.content


def _manual_of_set_page(client: PoliteClient, set_url: str) -> ManualRef | SetPageProblem:
    if not client.allowed(set_url):
        return SetPageProblem(set_url, "set page disallowed by robots.txt", disallowed=True)
    try:
        response = client.fetch(set_url)
    except FetchError as error:
        return SetPageProblem(set_url, f"set page: {error.reason}")
    if not response.ok:
        return SetPageProblem(set_url, f"set page: HTTP {response.status}")
    page_url = manual_page_link(response.content, set_url)
    if page_url is None:
        return SetPageProblem(set_url, f"set page has no {MANUAL_BUTTON_SELECTOR} linking to a manual page (lego-<set>-<name>)")
    manual_id = manual_id_from_url(page_url)
    assert manual_id is not None  # manual_page_link only returns manual URLs
    return ManualRef(manual_id=manual_id, page_url=page_url)
