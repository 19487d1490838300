"""Hostile servers: a trickled body, a redirect loop, an off-site hop or image, a non-image image,
a body over the size cap.

Each is bounded (a total deadline per request, a redirect cap, a host allow-list, a magic-byte
check for every image, a body size cap) and named in the error. A loopback server plays the hostile site.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from lego_arta.source.crawl import ImageRef, _download_image, crawl, missing_images
from lego_arta.source.fetch import MAX_BODY_BYTES, MAX_REDIRECTS, FetchError, PoliteClient
from lego_arta.source.layout import images_dir, page_path
from tests.support.raw_manuals import write_raw_manuals
from tests.support.site import Fault, LegoSite


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


class Hostile:
    """A loopback server; ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                hostile.hits[self.path] = hostile.hits.get(self.path, 0) + 1
                if self.path == "/trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "30")
                    self.end_headers()
                    for _ in range(30):
                        try:
                            self.wfile.write(b"x")
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(0.2)
                elif self.path == "/loop":
                    self._redirect("/loop")
                elif self.path.startswith("/hop"):
                    left = int(self.path[4:] or 0)
                    self._redirect(f"/hop{left - 1}" if left > 1 else "/image.png")
                elif self.path == "/away":
                    self._redirect(f"http://localhost:{hostile.port}/image.png")
                elif self.path in ("/image.png", "/noext"):
                    self._send(_png() if self.path == "/image.png" else b"plain text, no image", "image/png")
                elif self.path == "/drawing.svg":
                    self._send(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")
                else:
                    self._send(b"not found", "text/plain", 404)

            def _redirect(self, where: str) -> None:
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _send(self, body: bytes, kind: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    yield server
    server.close()


def test_a_trickled_body_stops_at_the_deadline(hostile: Hostile) -> None:
    started = time.monotonic()
    with PoliteClient(hostile.base, delay=0, retries=0, timeout=5, deadline=1.0) as client:
        with pytest.raises(FetchError, match="deadline"):
            client.fetch(f"{hostile.base}/trickle")
    assert time.monotonic() - started < 3.0


def test_a_redirect_loop_fails_at_once_after_the_cap(hostile: Hostile) -> None:
    with PoliteClient(hostile.base, delay=0, retries=3, backoff=0, timeout=5) as client:
        with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
            client.fetch(f"{hostile.base}/loop")
    assert hostile.hits["/loop"] == MAX_REDIRECTS + 1, "not retried, not more than the cap"


def test_redirect_hops_are_paced_like_requests(hostile: Hostile) -> None:
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    with PoliteClient(hostile.base, delay=2.0, retries=0, sleep=sleep, clock=lambda: now[0]) as client:
        assert client.fetch(f"{hostile.base}/hop3").ok
    assert sleeps == [2.0] * 3, "three hops after the first request, each waits its turn"


def test_other_hosts_are_refused_unless_allowed(hostile: Hostile, tmp_path: Path) -> None:
    with PoliteClient(hostile.base, delay=0, retries=0, timeout=5) as client:
        with pytest.raises(FetchError, match="'localhost' is not the site's"):
            client.fetch(f"{hostile.base}/away")
        problem = _download_image(client, ImageRef("x.png", f"http://localhost:{hostile.port}/image.png"), tmp_path / "x.png")
        assert problem.outcome == "disallowed" and "--allow-host" in problem.reason
    assert not (tmp_path / "x.png").exists()
    with PoliteClient(hostile.base, delay=0, retries=0, timeout=5, allow_hosts=["LOCALHOST"]) as client:
        assert client.fetch(f"{hostile.base}/away").content == _png()


@pytest.mark.parametrize("path", ["/drawing.svg", "/noext"])
def test_every_image_is_checked_whatever_its_name(hostile: Hostile, tmp_path: Path, path: str) -> None:
    target = tmp_path / path.strip("/")
    with PoliteClient(hostile.base, delay=0, retries=1, backoff=0, timeout=5) as client:
        problem = _download_image(client, ImageRef(path.strip("/"), hostile.base + path), target)
    assert problem.outcome == "failed" and "not a valid image" in problem.reason
    assert not target.exists()


def test_a_zero_byte_image_in_a_partial_folder_is_fetched_again(tmp_path: Path) -> None:
    images = tmp_path / "m" / "images"
    images.mkdir(parents=True)
    (images / "empty.png").write_bytes(b"")
    (images / "whole.png").write_bytes(_png())
    refs = [ImageRef("empty.png", "http://x/empty.png"), ImageRef("whole.png", "http://x/whole.png")]
    assert missing_images(tmp_path / "m", refs) == (refs[0],)


# --- bodies over the size cap, through a whole crawl of the loopback site --------------------------

OCEAN = "lego-60263-ocean-mini-submarine-readscr"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LegoSite]:
    write_raw_manuals(tmp_path / "served")
    with LegoSite(tmp_path / "served") as served:
        yield served


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "until-close"])
def test_an_image_over_the_size_cap_fails_its_manual_at_once(site: LegoSite, tmp_path: Path, announce: bool) -> None:
    """Issue 16: the 64 MB cap on a body. An announced size is refused before the body is read,
    an unannounced one where it passes the cap; either way once (a large body stays large), the
    manual is a counted failure naming the image, and nothing of it is half-written."""
    target = site.image_paths(OCEAN)[1]
    site.fault(target, Fault(oversize=MAX_BODY_BYTES + 1, announce=announce))
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[OCEAN], delay=0, backoff=0, retries=2, timeout=10, progress=False)
    reason = report.failed[OCEAN]
    assert f"larger than {MAX_BODY_BYTES:,} bytes" in reason and target.rsplit("/", 1)[-1] in reason
    assert site.requested(target) == [200], "not retried"
    assert not page_path(out / OCEAN).exists(), "the page is written last, so the manual reads as unfinished"
    assert not (images_dir(out / OCEAN) / target.rsplit("/", 1)[-1]).exists()
    assert not list(out.rglob(".*.tmp")), "no temporary file left"
    assert report.crawled == ()


def test_a_page_over_the_size_cap_fails_its_manual(site: LegoSite, tmp_path: Path) -> None:
    site.fault(f"/{OCEAN}/", Fault(oversize=MAX_BODY_BYTES + 1, announce=False))
    out = tmp_path / "out"
    report = crawl(out, base_url=site.base_url, manuals=[OCEAN], delay=0, backoff=0, retries=2, timeout=10, progress=False)
    assert f"larger than {MAX_BODY_BYTES:,} bytes" in report.failed[OCEAN] and f"/{OCEAN}/" in report.failed[OCEAN]
    assert site.requested(f"/{OCEAN}/") == [200]
    assert not out.exists() or not any(out.rglob("*"))
