"""``lego-arta crawl``: the LEGO Audio & Braille site → the raw layout (polite, resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from lego_arta.commands.options import POSITIVE_INT, SECONDS, number
from lego_arta.errors import print_error

HELP = "crawl the LEGO Audio & Braille site into the raw layout"
GROUP = "source"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.source.discover import DISCOVER_MODES
    from lego_arta.source.layout import SITE_URL

    parser.add_argument("--out", type=Path, required=True, help="folder that receives one folder per manual")
    parser.add_argument("--base-url", default=SITE_URL, help="site to crawl (default: %(default)s)")
    parser.add_argument(
        "--discover",
        choices=DISCOVER_MODES,
        default="listing",
        help="find manuals through the listing pages (default) or the WordPress page index",
    )
    parser.add_argument("--manual", action="append", metavar="ID", help="crawl only this manual id (repeatable); skips discovery")
    parser.add_argument(
        "--delay", type=number(float, low=0, high=3600), default=1.0, help="seconds between requests (default: %(default)s)"
    )
    parser.add_argument("--limit", type=POSITIVE_INT, help="crawl only the first N manuals found")
    parser.add_argument("--retries", type=number(int, low=0, high=100), default=4, help="retries per request (default: %(default)s)")
    parser.add_argument("--timeout", type=SECONDS, default=30.0, help="seconds per read (default: %(default)s)")
    parser.add_argument(
        "--deadline",
        type=SECONDS,
        default=None,
        help="seconds one request may take in all, redirects and body included (default: 4 x --timeout)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also fetch images from this host (repeatable); other hosts are skipped",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Crawl and print the summary; exit 0 if nothing failed, 1 if some manual failed, 2 if the crawl
    could not run (bad option, unreadable listing or index)."""
    from lego_arta.source.crawl import CrawlError, crawl, render_report

    try:
        report = crawl(
            args.out,
            base_url=args.base_url,
            discover=args.discover,
            manuals=args.manual,
            delay=args.delay,
            retries=args.retries,
            timeout=args.timeout,
            deadline=args.deadline,
            allow_hosts=tuple(args.allow_host),
            limit=args.limit,
            progress=not args.no_progress,
        )
    except (CrawlError, ValueError) as error:
        print_error(str(error))
        return 2
    Console().print(render_report(report))
    return 0 if report.ok else 1
