"""A loopback copy of legoaudioinstructions.com serving a folder of raw manuals, for crawler tests.

It serves the site's structure (SPEC §1) from ``<root>/<manual_id>/<manual_id>.html`` and
``images/<file>``: robots.txt, listing pages of set cards, set pages, manual pages, images at the
URLs the pages' ``img src`` name, and the WordPress page index. Faults can be injected per path
(an HTTP status, a truncated or corrupted body, a body of ``oversize`` bytes, for the next N
requests or for ever) and every
request is logged, so tests can check what a crawler did and did not fetch.

Binds 127.0.0.1 on a free port, serves at most ``max_requests`` requests (then 503 and
``overflowed``), and stops on ``stop()`` / leaving the ``with`` block::

    with LegoSite(root) as site:
        crawl(out, base_url=site.base_url, delay=0)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from bs4 import BeautifulSoup

from lego_arta.source.layout import SITE_URL, images_dir, page_path, split_manual_id

HOST = "127.0.0.1"
DEFAULT_MAX_REQUESTS = 2000
SOCKET_TIMEOUT_S = 10.0
#: How often the server checks for shutdown; small so each test's teardown is quick.
SHUTDOWN_POLL_S = 0.02
ALLOW_ALL_ROBOTS = "User-agent: *\nDisallow:\n"
#: Pages the WordPress index lists besides the manuals; a crawler must not take them for manuals.
OTHER_PAGES = ("about", "contact", "instructions", "lego-braille-bricks")


@dataclass
class Fault:
    """What to do instead of a normal answer, for the next ``times`` requests (None: for ever)."""

    status: int | None = None
    truncate: bool = False
    corrupt: bool = False
    retry_after: str | None = None
    times: int | None = None
    #: Answer with this many bytes (streamed, never held in memory) instead of the file; with
    #: ``announce`` the Content-Length says so up front, else the body runs until the connection closes.
    oversize: int | None = None
    announce: bool = True


@dataclass(frozen=True)
class LoggedRequest:
    path: str
    status: int
    user_agent: str


class LegoSite:
    """The site, served from ``root`` by a threaded ``http.server`` on 127.0.0.1."""

    def __init__(
        self,
        root: Path,
        *,
        cards_per_page: int = 2,
        listing_end: str = "empty",
        index_page_size: int | None = None,
        robots_txt: str | None = ALLOW_ALL_ROBOTS,
        max_requests: int = DEFAULT_MAX_REQUESTS,
    ) -> None:
        if listing_end not in ("empty", "404", "repeat"):
            raise ValueError(f"listing_end must be 'empty', '404' or 'repeat'; got {listing_end!r}")
        self.root = root
        self.cards_per_page = cards_per_page
        self.listing_end = listing_end
        self.index_page_size = index_page_size
        self.robots_txt = robots_txt
        self.max_requests = max_requests
        self.overflowed = False
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._faults: dict[str, Fault] = {}
        self._routes: dict[str, Path] = {}
        self.manual_ids: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.refresh()

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> LegoSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            timeout = SOCKET_TIMEOUT_S
            protocol_version = "HTTP/1.1"  # keep-alive, as the real site; faulty answers close
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                site._handle(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S}, name="lego-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=SOCKET_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> LegoSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the site is not running; call start() first")
        return f"http://{HOST}:{self._server.server_address[1]}"

    # content -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read ``root``: the manuals served and the image URL of every ``img src``."""
        routes: dict[str, Path] = {}
        manuals: list[str] = []
        for folder in sorted(p for p in self.root.iterdir() if page_path(p).is_file()):
            manuals.append(folder.name)
            page_url = f"http://{HOST}/{folder.name}/"
            routes[f"/{folder.name}/"] = page_path(folder)
            soup = BeautifulSoup(page_path(folder).read_bytes(), "html.parser")
            for img in soup.select("div.manual-table-container img[src]"):
                path = urlsplit(urljoin(page_url, str(img["src"]))).path
                routes[path] = images_dir(folder) / path.rsplit("/", 1)[-1]
        with self._lock:
            self._routes = routes
            self.manual_ids = manuals

    @staticmethod
    def set_page_path(manual: str) -> str:
        set_number, slug = split_manual_id(manual)
        return f"/instructions/{set_number}-{slug}/"

    def image_paths(self, manual: str) -> list[str]:
        """Site paths of a manual's images, in page order."""
        folder = str(self.root / manual)
        return [path for path, file in self._routes.items() if str(file).startswith(folder + "/images/")]

    # faults and log ------------------------------------------------------------------------------
    def fault(self, path: str, fault: Fault) -> None:
        with self._lock:
            self._faults[path] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def requested(self, path: str) -> list[int]:
        """Statuses answered to every request for ``path`` (query included), in order."""
        return [entry.status for entry in self.log if entry.path == path]

    # serving -------------------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            if len(self._log) >= self.max_requests:
                self.overflowed = True
                fault: Fault | None = Fault(status=503)
            else:
                fault = self._faults.get(request.path)
                if fault is not None and fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[request.path]
        status, content_type, body = self._answer(request.path)
        if fault is not None and fault.status is not None:
            status, content_type, body = fault.status, "text/plain", f"injected HTTP {fault.status}\n".encode()
        with self._lock:
            self._log.append(LoggedRequest(request.path, status, request.headers.get("User-Agent", "")))
        sent = body
        if fault is not None and fault.corrupt:
            middle = len(body) // 2
            sent = body[:middle] + bytes(b ^ 0xFF for b in body[middle : middle + 4]) + body[middle + 4 :]
        if fault is not None and fault.truncate:
            sent = body[: len(body) // 2]
        if fault is not None and fault.oversize is not None:
            self._stream_oversize(request, content_type, fault)
            return
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        if fault is not None and fault.retry_after is not None:
            request.send_header("Retry-After", fault.retry_after)
        if fault is not None:
            request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(sent)
        if fault is not None:
            request.close_connection = True

    @staticmethod
    def _stream_oversize(request: BaseHTTPRequestHandler, content_type: str, fault: Fault) -> None:
        """Send ``fault.oversize`` zero bytes in 1 MiB writes; a client that hangs up ends it."""
        size = int(fault.oversize or 0)
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        if fault.announce:
            request.send_header("Content-Length", str(size))
        request.send_header("Connection", "close")
        request.end_headers()
        request.close_connection = True
        block = bytes(1 << 20)
        try:
            while size > 0:
                request.wfile.write(block[: min(size, len(block))])
                size -= len(block)
        except OSError:
            return

    def _answer(self, raw_path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        if parts.path == "/robots.txt":
            if self.robots_txt is None:
                return 404, "text/plain", b"no robots.txt\n"
            return 200, "text/plain", self.robots_txt.encode()
        if parts.path == "/instructions/":
            return self._listing(int(query.get("pagenumber", ["1"])[0]))
        if parts.path == "/wp-json/wp/v2/pages":
            per_page = self.index_page_size or int(query.get("per_page", ["10"])[0])
            return self._index(int(query.get("page", ["1"])[0]), per_page)
        for manual in self.manual_ids:
            if parts.path == self.set_page_path(manual):
                return 200, "text/html; charset=UTF-8", self._set_page(manual)
        file = self._routes.get(parts.path)
        if file is None or not file.is_file():
            return 404, "text/html", b"<html><body><h1>Page not found</h1></body></html>\n"
        content_type = "text/html; charset=UTF-8" if file.suffix == ".html" else "image/png"
        return 200, content_type, file.read_bytes()

    def _listing(self, number: int) -> tuple[int, str, bytes]:
        pages = [self.manual_ids[start : start + self.cards_per_page] for start in range(0, len(self.manual_ids), self.cards_per_page)]
        if number > len(pages):
            if self.listing_end == "404":
                return 404, "text/html", b"<html><body>Not found</body></html>\n"
            cards: list[str] = pages[-1] if self.listing_end == "repeat" and pages else []
        else:
            cards = pages[number - 1]
        links = "\n".join(f'<a class="mtt-instruction-card" href="{self.set_page_path(m)}"><h3>{escape(m)}</h3></a>' for m in cards)
        nav = f'<nav><a href="/instructions/?pagenumber={number + 1}">next</a></nav>'
        return 200, "text/html; charset=UTF-8", f"<html><body>{nav}\n{links}\n</body></html>\n".encode()

    def _set_page(self, manual: str) -> bytes:
        set_number, _ = split_manual_id(manual)
        html = (
            "<html><body>"
            '<a class="button" href="/shop/">Buy the set</a>'
            f'<a class="button icon" href="/{manual}/">Audio &amp; Braille instructions</a>'
            f'<a class="button icon" href="/wp-content/uploads/{set_number}-braille.pdf">Braille PDF</a>'
            "</body></html>\n"
        )
        return html.encode()

    def _index(self, number: int, per_page: int) -> tuple[int, str, bytes]:
        slugs = sorted([*self.manual_ids, *OTHER_PAGES])
        pages = [slugs[start : start + per_page] for start in range(0, len(slugs), per_page)]
        if number < 1 or number > len(pages):
            error = {
                "code": "rest_post_invalid_page_number",
                "message": "The page number requested is larger than the number of pages available.",
                "data": {"status": 400},
            }
            return 400, "application/json", json.dumps(error).encode()
        entries = [{"slug": slug, "link": f"{SITE_URL}/{slug}/"} for slug in pages[number - 1]]
        return 200, "application/json", json.dumps(entries).encode()
