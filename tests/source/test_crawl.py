"""The crawler against a loopback copy of the site: real HTTP on 127.0.0.1, faults injected server-side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.parse.manual import load_manuals
from lego_arta.parse.records import manual_records
from lego_arta.source.crawl import (
    CrawlError,
    ManualPageError,
    crawl,
    manual_images,
)
from lego_arta.source.discover import (
    IndexEntry,
    index_manual_refs,
    listing_set_pages,
    manual_id_from_url,
    manual_page_link,
)
from lego_arta.source.fetch import DEFAULT_USER_AGENT, FetchError, PoliteClient
from lego_arta.source.layout import encode_file_name, image_url_path, images_dir, page_path
from tests.support.cli import run_command
from tests.support.raw_manuals import MANUALS, page_html, png_bytes, write_raw_manuals
from tests.support.site import Fault, LegoSite

RETRIES = 2
FAST = {"delay": 0.0, "backoff": 0.0, "retries": RETRIES, "timeout": 5.0, "progress": False}
NO_SUFFIX = "lego-60274-elite-police-lighthouse-capture-mobile"
OCEAN = "lego-60263-ocean-mini-submarine-readscr"
RACE_CAR = "lego-60399-green-race-car-readscr"


def raw_files(root: Path) -> dict[str, bytes]:
    """Every file of a raw-manual tree by relative path (synthetic ground truth excluded)."""
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file() and path.name != "truth.json"
    }


@pytest.fixture
def served(tmp_path: Path) -> Path:
    root = tmp_path / "served"
    write_raw_manuals(root)
    return root


def _site(root: Path, **options: object) -> Iterator[LegoSite]:
    with LegoSite(root, **options) as site:  # type: ignore[arg-type]
        yield site
    assert not site.overflowed, "the crawler sent more requests than the test site allows"


@pytest.fixture
def site(served: Path) -> Iterator[LegoSite]:
    yield from _site(served)


def manual_requests(site: LegoSite, manual: str) -> list[str]:
    """Requests for a manual's page or images (not its set page, which discovery reads)."""
    paths = {f"/{manual}/", *site.image_paths(manual)}
    return [entry.path for entry in site.log if entry.path in paths]


# --- full crawls -----------------------------------------------------------------------------------


def test_listing_crawl_saves_the_served_folders_byte_for_byte(site: LegoSite, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, **FAST)

    assert raw_files(out) == raw_files(served)
    assert sorted(report.crawled) == sorted(MANUALS)
    assert NO_SUFFIX in report.crawled
    assert report.failed == {} and report.disallowed == {} and report.ok
    images = {path for path in raw_files(served) if "/images/" in path}
    assert report.images_downloaded == len(images)
    assert report.bytes == sum(len(data) for data in raw_files(served).values())
    assert site.log[0].path == "/robots.txt"
    assert {entry.user_agent for entry in site.log} == {DEFAULT_USER_AGENT}
    assert DEFAULT_USER_AGENT.startswith("lego-arta/")
    assert not list(out.rglob(".*.tmp"))


@pytest.mark.parametrize("listing_end", ["empty", "404", "repeat"])
@pytest.mark.parametrize("cards_per_page", [1, 2, 5])
def test_listing_discovery_finds_every_manual_and_stops(served: Path, tmp_path: Path, listing_end: str, cards_per_page: int) -> None:
    for site in _site(served, listing_end=listing_end, cards_per_page=cards_per_page):
        report = crawl(tmp_path / "out", base_url=site.base_url, **FAST)
        listing_pages = [entry for entry in site.log if entry.path.startswith("/instructions/?")]
    assert sorted(report.crawled) == sorted(MANUALS)
    full_pages = -(-len(MANUALS) // cards_per_page)
    assert len(listing_pages) == full_pages + 1


def test_index_discovery_crawls_manual_pages_only(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for site in _site(served, index_page_size=2):
        report = crawl(out, base_url=site.base_url, discover="index", **FAST)
        log = site.log
    assert raw_files(out) == raw_files(served)
    assert sorted(report.crawled) == sorted(MANUALS)
    assert not any(entry.path.startswith("/instructions/") for entry in log)
    assert not any(entry.path in ("/about/", "/contact/") for entry in log)
    index_statuses = [entry.status for entry in log if entry.path.startswith("/wp-json/")]
    assert index_statuses[-1] == 400 and index_statuses[:-1] == [200] * (len(index_statuses) - 1)


def test_named_manuals_skip_discovery(site: LegoSite, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[NO_SUFFIX], **FAST)
    assert report.crawled == (NO_SUFFIX,)
    assert sorted(p.name for p in out.iterdir()) == [NO_SUFFIX]
    assert not any(e.path.startswith(("/instructions/", "/wp-json/")) for e in site.log)


def test_relative_and_absolute_image_sources_are_resolved(site: LegoSite, served: Path, tmp_path: Path) -> None:
    manual = "lego-10001-mixed-sources-readscr"
    folder = served / manual
    images_dir(folder).mkdir(parents=True)
    names = ["sm01-Start.png", "sm01-Bag-0001_eop_Step ##A.png"]
    html = page_html(manual, [(name, [[("", "Row.")]]) for name in names])
    site_absolute = [image_url_path("10001", name) for name in names]
    html = html.replace(f'"{site_absolute[0]}"', f'"..{site_absolute[0]}"')
    html = html.replace(f'"{site_absolute[1]}"', f'"{site.base_url}{site_absolute[1]}"')
    page_path(folder).write_text(html, encoding="utf-8")
    for number, name in enumerate(names):
        (images_dir(folder) / encode_file_name(name)).write_bytes(png_bytes(100 + number))
    site.refresh()

    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[manual], **FAST)
    assert report.crawled == (manual,)
    assert raw_files(out / manual) == raw_files(folder)


# --- resuming --------------------------------------------------------------------------------------


def test_second_run_skips_complete_manuals_without_a_request(site: LegoSite, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = crawl(out, base_url=site.base_url, limit=1, **FAST)
    assert len(first.crawled) == 1
    done = first.crawled[0]
    assert sorted(p.name for p in out.iterdir()) == [done]

    site.clear_log()
    second = crawl(out, base_url=site.base_url, **FAST)
    assert second.skipped_complete == (done,)
    assert sorted(second.crawled) == sorted(set(MANUALS) - {done})
    assert manual_requests(site, done) == []
    assert raw_files(out) == raw_files(served)

    site.clear_log()
    third = crawl(out, base_url=site.base_url, limit=1, **FAST)
    assert third.skipped_complete == (done,) and third.crawled == ()


def test_interrupted_crawl_is_finished_fetching_only_missing_images(site: LegoSite, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    broken = site.image_paths(RACE_CAR)[1]
    site.fault(broken, Fault(status=500))
    first = crawl(out, base_url=site.base_url, **FAST)

    assert set(first.failed) == {RACE_CAR}
    assert unquote(broken.rsplit("/", 1)[-1]) in unquote(first.failed[RACE_CAR])
    assert "HTTP 500" in first.failed[RACE_CAR] and f"{RETRIES + 1} attempts" in first.failed[RACE_CAR]
    assert site.requested(broken) == [500] * (RETRIES + 1)
    assert not page_path(out / RACE_CAR).exists(), "a failed manual must not look complete"
    assert sorted(first.crawled) == sorted(set(MANUALS) - {RACE_CAR})
    saved_before = {p.name for p in images_dir(out / RACE_CAR).iterdir()}
    assert saved_before == {site.image_paths(RACE_CAR)[0].rsplit("/", 1)[-1]}

    site.clear_faults()
    site.clear_log()
    second = crawl(out, base_url=site.base_url, **FAST)
    assert second.resumed == (RACE_CAR,) and second.failed == {}
    assert sorted(second.skipped_complete) == sorted(set(MANUALS) - {RACE_CAR})
    fetched = manual_requests(site, RACE_CAR)
    assert sorted(fetched) == sorted([f"/{RACE_CAR}/", *site.image_paths(RACE_CAR)[1:]])
    assert second.images_downloaded == len(site.image_paths(RACE_CAR)) - 1
    for manual in set(MANUALS) - {RACE_CAR}:
        assert manual_requests(site, manual) == []
    assert raw_files(out) == raw_files(served)


def test_saved_page_with_a_deleted_image_fetches_that_image_only(site: LegoSite, served: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    crawl(out, base_url=site.base_url, manuals=[OCEAN], **FAST)
    lost = site.image_paths(OCEAN)[2]
    (images_dir(out / OCEAN) / lost.rsplit("/", 1)[-1]).unlink()
    leftover = images_dir(out / OCEAN) / ".sm01-Start.png.x1y2.tmp"
    leftover.write_bytes(b"half a png")

    site.clear_log()
    report = crawl(out, base_url=site.base_url, manuals=[OCEAN], **FAST)
    assert report.resumed == (OCEAN,) and report.images_downloaded == 1
    assert manual_requests(site, OCEAN) == [lost]
    assert not leftover.exists()
    assert raw_files(out / OCEAN) == raw_files(served / OCEAN)


# --- bad responses ---------------------------------------------------------------------------------


def test_missing_image_fails_its_manual_with_the_file_and_status(site: LegoSite, served: Path, tmp_path: Path) -> None:
    gone = site.image_paths(OCEAN)[1]
    (images_dir(served / OCEAN) / gone.rsplit("/", 1)[-1]).unlink()
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, **FAST)

    reason = report.failed[OCEAN]
    assert "HTTP 404" in reason and gone.rsplit("/", 1)[-1] in reason
    assert site.requested(gone) == [404], "a 404 is final, not retried"
    assert not page_path(out / OCEAN).exists()
    assert sorted(report.crawled) == sorted(set(MANUALS) - {OCEAN})


def test_missing_manual_page_fails_with_its_url(site: LegoSite, tmp_path: Path) -> None:
    report = crawl(tmp_path / "out", base_url=site.base_url, manuals=["lego-99999-no-such-set-readscr"], **FAST)
    assert "HTTP 404" in report.failed["lego-99999-no-such-set-readscr"]
    assert "/lego-99999-no-such-set-readscr/" in report.failed["lego-99999-no-such-set-readscr"]


def test_truncated_image_is_retried(site: LegoSite, served: Path, tmp_path: Path) -> None:
    target = site.image_paths(OCEAN)[0]
    site.fault(target, Fault(truncate=True, times=1))
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[OCEAN], **FAST)
    assert report.crawled == (OCEAN,)
    assert site.requested(target) == [200, 200]
    assert raw_files(out / OCEAN) == raw_files(served / OCEAN)


@pytest.mark.parametrize(
    ("index", "fault", "message"),
    [(0, Fault(truncate=True), "truncated body"), (1, Fault(corrupt=True), "not a valid image")],
    ids=["truncated", "does-not-verify"],
)
def test_a_bad_image_every_time_is_retried_then_fails_clearly(
    site: LegoSite, tmp_path: Path, index: int, fault: Fault, message: str
) -> None:
    target = site.image_paths(OCEAN)[index]
    site.fault(target, fault)
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[OCEAN], **FAST)
    assert message in report.failed[OCEAN]
    assert len(site.requested(target)) == RETRIES + 1
    assert not (images_dir(out / OCEAN) / target.rsplit("/", 1)[-1]).exists()


def test_server_errors_then_success_are_retried(site: LegoSite, served: Path, tmp_path: Path) -> None:
    image = site.image_paths(RACE_CAR)[0]
    site.fault(f"/{RACE_CAR}/", Fault(status=500, times=1))
    site.fault(image, Fault(status=503, times=2))
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[RACE_CAR], **FAST)
    assert report.crawled == (RACE_CAR,)
    assert site.requested(f"/{RACE_CAR}/") == [500, 200]
    assert site.requested(image) == [503, 503, 200]
    assert raw_files(out / RACE_CAR) == raw_files(served / RACE_CAR)


def test_unreadable_listing_is_a_crawl_error(site: LegoSite, tmp_path: Path) -> None:
    site.fault("/instructions/?pagenumber=1", Fault(status=502))
    with pytest.raises(CrawlError, match=r"listing page .*pagenumber=1.*HTTP 502"):
        crawl(tmp_path / "out", base_url=site.base_url, **FAST)


def test_set_page_without_a_manual_link_is_reported(site: LegoSite, tmp_path: Path) -> None:
    set_page = LegoSite.set_page_path(OCEAN)
    site.fault(set_page, Fault(status=404))
    report = crawl(tmp_path / "out", base_url=site.base_url, **FAST)
    assert report.failed == {set_page: "set page: HTTP 404"}
    assert sorted(report.crawled) == sorted(set(MANUALS) - {OCEAN})


# --- robots.txt ------------------------------------------------------------------------------------


def test_robots_disallow_skips_and_reports_the_manual(served: Path, tmp_path: Path) -> None:
    robots = f"User-agent: *\nDisallow: /{RACE_CAR}/\n"
    for site in _site(served, robots_txt=robots):
        report = crawl(tmp_path / "out", base_url=site.base_url, **FAST)
        assert manual_requests(site, RACE_CAR) == []
    assert set(report.disallowed) == {RACE_CAR} and "robots.txt" in report.disallowed[RACE_CAR]
    assert sorted(report.crawled) == sorted(set(MANUALS) - {RACE_CAR})
    assert report.ok
    assert not (tmp_path / "out" / RACE_CAR).exists()


def test_robots_rules_for_our_agent_apply(served: Path, tmp_path: Path) -> None:
    robots = "User-agent: lego-arta\nDisallow: /instructions/\n\nUser-agent: *\nDisallow:\n"
    for site in _site(served, robots_txt=robots):
        with pytest.raises(CrawlError, match="robots.txt disallows the listing page"):
            crawl(tmp_path / "out", base_url=site.base_url, **FAST)
        report = crawl(tmp_path / "out", base_url=site.base_url, discover="index", **FAST)
    assert sorted(report.crawled) == sorted(MANUALS)


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, False), (503, False)])
def test_robots_status_decides_like_robotparser(served: Path, status: int, allowed: bool) -> None:
    for site in _site(served):
        site.fault("/robots.txt", Fault(status=status))
        with PoliteClient(site.base_url, delay=0, backoff=0, retries=1, timeout=5) as client:
            client.load_robots()
            assert client.allowed(f"{site.base_url}/{OCEAN}/") is allowed


# --- pacing ----------------------------------------------------------------------------------------


class FakeTime:
    """A clock that advances only when slept on, recording every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_requests_are_spaced_by_the_delay(site: LegoSite) -> None:
    time = FakeTime()
    with PoliteClient(site.base_url, delay=1.5, sleep=time.sleep, clock=time.clock) as client:
        for _ in range(3):
            client.fetch(f"{site.base_url}/{OCEAN}/")
    assert time.sleeps == [1.5, 1.5]


def test_retry_after_is_respected(site: LegoSite) -> None:
    time = FakeTime()
    site.fault(f"/{OCEAN}/", Fault(status=503, retry_after="3", times=1))
    with PoliteClient(site.base_url, delay=0, backoff=0.25, sleep=time.sleep, clock=time.clock) as client:
        assert client.fetch(f"{site.base_url}/{OCEAN}/").ok
    assert time.sleeps == [3.0]


def test_retry_after_beyond_the_cap_gives_up_at_once(site: LegoSite) -> None:
    time = FakeTime()
    site.fault(f"/{OCEAN}/", Fault(status=429, retry_after="86400"))
    with PoliteClient(site.base_url, delay=0, sleep=time.sleep, clock=time.clock) as client:
        with pytest.raises(FetchError, match="Retry-After 86400"):
            client.fetch(f"{site.base_url}/{OCEAN}/")
    assert site.requested(f"/{OCEAN}/") == [429] and time.sleeps == []


def test_backoff_doubles_between_retries(site: LegoSite) -> None:
    time = FakeTime()
    site.fault(f"/{OCEAN}/", Fault(status=502, times=3))
    with PoliteClient(site.base_url, delay=0, retries=3, backoff=0.5, sleep=time.sleep, clock=time.clock) as client:
        assert client.fetch(f"{site.base_url}/{OCEAN}/").ok
    assert time.sleeps == [0.5, 1.0, 2.0]


def test_robots_crawl_delay_raises_the_delay(served: Path) -> None:
    for site in _site(served, robots_txt="User-agent: *\nCrawl-delay: 7\nDisallow:\n"):
        with PoliteClient(site.base_url, delay=1.0) as client:
            client.load_robots()
            assert client.delay == 7.0


# --- CLI adapter -----------------------------------------------------------------------------------


def test_run_crawl_prints_a_summary_and_exits_by_outcome(
    site: LegoSite, served: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps to the terminal width; keep reasons on one line
    out = tmp_path / "out"
    common = ["--out", str(out), "--base-url", site.base_url, "--delay", "0", "--retries", "1", "--no-progress"]
    assert run_command("crawl", common) == 0
    assert "crawled" in capsys.readouterr().out
    assert raw_files(out) == raw_files(served)

    (page_path(out / OCEAN)).unlink()
    site.fault(f"/{OCEAN}/", Fault(status=500))
    assert run_command("crawl", [*common, "--manual", OCEAN]) == 1
    printed = capsys.readouterr().out
    assert OCEAN in printed and "HTTP 500" in printed

    site.fault("/instructions/?pagenumber=1", Fault(status=500))
    assert run_command("crawl", [*common, "--limit", "1"]) == 2
    assert "cannot discover manuals" in capsys.readouterr().err


def test_bad_options_are_rejected_before_any_request(site: LegoSite, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="discover must be one of"):
        crawl(tmp_path, base_url=site.base_url, discover="sitemap", **FAST)
    with pytest.raises(ValueError, match="not of the form"):
        crawl(tmp_path, base_url=site.base_url, manuals=["../etc"], **FAST)
    with pytest.raises(ValueError, match="limit must be at least 1"):
        crawl(tmp_path, base_url=site.base_url, limit=0, **FAST)
    assert site.log == []


# --- pure readers ----------------------------------------------------------------------------------

PAGE_URL = "https://legoaudioinstructions.com/lego-60263-ocean-mini-submarine-readscr/"


def test_manual_images_resolves_every_kind_of_src_once() -> None:
    html = """<img src="/logo.png"><div class="manual-table-container">
      <div class="row"><div class="image"><img src="/m/60263/sm01-Start.png"></div></div>
      <div class="row"><div class="image"><img src="../m/60263/a%20%23%23B.png?ver=2"></div></div>
      <div class="row"><div class="image"><img src="https://cdn.example.org/m/60263/c.png"></div></div>
      <div class="row"><div class="image"><img src="/m/60263/sm01-Start.png"></div></div></div>"""
    refs = manual_images(html, PAGE_URL)
    assert [ref.file_name for ref in refs] == ["sm01-Start.png", "a%20%23%23B.png", "c.png"]
    assert [ref.url for ref in refs] == [
        "https://legoaudioinstructions.com/m/60263/sm01-Start.png",
        "https://legoaudioinstructions.com/m/60263/a%20%23%23B.png?ver=2",
        "https://cdn.example.org/m/60263/c.png",
    ]


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<html><body><img src='/a.png'></body></html>", "no div.manual-table-container"),
        ("<div class='manual-table-container'><div class='row'></div></div>", "no images"),
        ("<div class='manual-table-container'><img src='/x/a.png'><img src='/y/a.png'></div>", "share the file name"),
        ("<div class='manual-table-container'><img src='/x/..'></div>", "unsafe file name"),
    ],
)
def test_manual_images_rejects_pages_that_cannot_be_saved(html: str, message: str) -> None:
    with pytest.raises(ManualPageError, match=message):
        manual_images(html, PAGE_URL)


FILE_CHARS = st.sampled_from(list("abcXYZ019-_ #%&+()'"))


@given(names=st.lists(st.text(FILE_CHARS, min_size=1, max_size=12), min_size=1, max_size=6, unique=True))
def test_image_names_survive_the_round_trip_through_a_page(names: list[str]) -> None:
    decoded = [f"{name}.png" for name in names]
    html = page_html("lego-60263-ocean-mini-submarine-readscr", [(name, [[("verb", "Find")]]) for name in decoded])
    refs = manual_images(html, PAGE_URL)
    assert [ref.file_name for ref in refs] == [encode_file_name(name) for name in decoded]
    assert [unquote(urlsplit(ref.url).path.rsplit("/", 1)[-1]) for ref in refs] == decoded


def test_set_page_link_accepts_pages_with_and_without_the_readscr_suffix() -> None:
    set_url = "https://legoaudioinstructions.com/instructions/60274-elite-police-lighthouse-capture-mobile/"
    html = (
        '<a class="button" href="/shop/">Buy</a><a class="button icon" href="/wp-content/uploads/60274.pdf">PDF</a>'
        f'<a class="button icon" href="/{NO_SUFFIX}/">Instructions</a>'
    )
    assert manual_page_link(html, set_url) == f"https://legoaudioinstructions.com/{NO_SUFFIX}/"
    assert manual_page_link('<a class="button icon" href="/about/">About</a>', set_url) is None
    assert manual_id_from_url(f"https://x.org/{OCEAN}/") == OCEAN


def test_listing_cards_are_read_in_order_without_repeats() -> None:
    html = (
        '<a class="mtt-instruction-card" href="/instructions/2-b/">B</a>'
        '<a class="other" href="/instructions/9-z/">Z</a>'
        '<a class="mtt-instruction-card" href="/instructions/1-a/">A</a>'
        '<a class="mtt-instruction-card" href="/instructions/2-b/">B</a>'
    )
    assert listing_set_pages(html, "https://x.org/instructions/?pagenumber=1") == (
        "https://x.org/instructions/2-b/",
        "https://x.org/instructions/1-a/",
    )


def test_index_links_are_rebased_onto_the_crawled_site() -> None:
    entries = (
        IndexEntry("about", "https://legoaudioinstructions.com/about/"),
        IndexEntry(OCEAN, f"https://legoaudioinstructions.com/{OCEAN}/"),
        IndexEntry(NO_SUFFIX, None),
    )
    refs = index_manual_refs(entries, "http://127.0.0.1:8080")
    assert [(r.manual_id, r.page_url) for r in refs] == [
        (OCEAN, f"http://127.0.0.1:8080/{OCEAN}/"),
        (NO_SUFFIX, f"http://127.0.0.1:8080/{NO_SUFFIX}/"),
    ]


# --- the synthetic generator's folders, served and crawled ------------------------------------------


@pytest.mark.slow
def test_crawl_of_synthetic_manuals_is_byte_identical(synthetic_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for site in _site(synthetic_raw, cards_per_page=3):
        report = crawl(out, base_url=site.base_url, **FAST)
        served_ids = site.manual_ids
    assert report.ok and sorted(report.crawled) == served_ids
    served = {path: data for path, data in raw_files(synthetic_raw).items() if "/" in path}
    assert raw_files(out) == {path: data for path, data in served.items() if _is_raw(path)}
    source_records = [record for m in load_manuals(synthetic_raw, strict=True) for record in manual_records(m)]
    crawled_records = [record for m in load_manuals(out, strict=True) for record in manual_records(m)]
    assert crawled_records == source_records and len(source_records) > 100


def _is_raw(relative: str) -> bool:
    """Page or image of a manual folder: what a crawl can reproduce (the generator also writes truth)."""
    manual, _, rest = relative.partition("/")
    return rest == f"{manual}.html" or rest.startswith("images/")
