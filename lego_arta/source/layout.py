"""The raw on-disk and on-site layout of a manual, shared by the generator, the crawler and the parser.

One folder per manual::

    <manual_id>/<manual_id>.html      the screen-reader page as served
    <manual_id>/images/<file>         every image of the page, named as in its ``src`` (URL-encoded)
    <manual_id>/truth.json            synthetic manuals only: ground truth, never read by the parser
    <manual_id>/png-encoding.json     synthetic manuals only: the images' encoder and SHA-256s
                                      (lego_arta.png.EncodingRecord), so a build need not re-encode them

Image file names carry the session ("id_sign"), the step number and the step class::

    sm01-Start.png                        start image (also reused by the closing rows)
    sm01-Bag-0012_eop_Step ##E.png        object-finding ("end of part") image of step 12
    sm01-Bag-0012_step_Step ##E.png       assembly image of step 12

Keeping every name rule here means the synthetic and crawled sources cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

StepClass = Literal["start", "eop", "step"]

#: Default public site; the crawler takes ``--base-url`` to point elsewhere (a mirror, a test server).
SITE_URL = "https://legoaudioinstructions.com"
#: The HTML parser every reader of the site's pages uses (BeautifulSoup's ``features``): lxml is linear in
#: the rows of a page; Python's ``html.parser`` grew superlinearly (27k rows: 69 s, 100k rows: over 11 min).
HTML_PARSER = "lxml"
#: Site path under which a set's images are served: ``<IMAGE_ROOT>/<set_number>/<encoded file>``.
IMAGE_ROOT = "/wp-content/themes/mtt-wordpress-theme/assets/manual/manual-images"
#: Listing pages of instruction cards: ``/instructions/?pagenumber=N``.
LISTING_PATH = "/instructions/"
#: WordPress page index, an alternative route to every manual page.
PAGE_INDEX_PATH = "/wp-json/wp/v2/pages"

IMAGES_DIR = "images"
TRUTH_FILE = "truth.json"
MANUAL_ID_SUFFIX = "-readscr"

_STEP_IMAGE = re.compile(
    r"^(?P<session>.+?)-(?P<num>\d{4})_(?P<cls>eop|step)(?:_(?P<code>.*))?\.(?:png|jpe?g|webp)$",
    re.IGNORECASE,
)
_START_IMAGE = re.compile(r"^(?P<session>.+?)-Start\.(?:png|jpe?g|webp)$", re.IGNORECASE)
_MANUAL_ID = re.compile(r"^lego-(?P<set>\d+)-(?P<slug>[a-z0-9-]+?)(?:-readscr)?$")


@dataclass(frozen=True)
class ImageName:
    """What an image file name says about its row: session, step number and step class."""

    session: str
    step_class: StepClass
    step_num: int | None = None
    code: str | None = None

    def file_name(self, ext: str = "png") -> str:
        """The decoded file name, e.g. ``sm01-Bag-0012_eop_Step ##E.png``."""
        if self.step_class == "start":
            return f"{self.session}-Start.{ext}"
        if self.step_num is None:
            raise ValueError(f"{self.step_class} image of session {self.session!r} needs a step number")
        tail = f"_{self.code}" if self.code else ""
        return f"{self.session}-{self.step_num:04d}_{self.step_class}{tail}.{ext}"


class UnknownImageName(ValueError):
    """An image file name that matches none of the known patterns."""


def parse_image_name(file_name: str) -> ImageName:
    """Read session, step number and class from an image file name (URL-encoded or not).

    >>> parse_image_name("sm01-Bag-0012_eop_Step%20%23%23E.png")
    ImageName(session='sm01-Bag', step_class='eop', step_num=12, code='Step ##E')
    """
    name = unquote(file_name)
    match = _STEP_IMAGE.match(name)
    if match:
        return ImageName(
            session=match["session"],
            step_class=match["cls"].lower(),  # type: ignore[arg-type]
            step_num=int(match["num"]),
            code=match["code"] or None,
        )
    match = _START_IMAGE.match(name)
    if match:
        return ImageName(session=match["session"], step_class="start")
    raise UnknownImageName(
        f"image file name {file_name!r} matches neither '<session>-Start.<ext>' nor '<session>-NNNN_(eop|step)[_<code>].<ext>'"
    )


def encode_file_name(decoded: str) -> str:
    """URL-encode a file name the way the site writes it in ``src`` (``#`` → ``%23``, space → ``%20``)."""
    return quote(decoded, safe="-_.~()")


def image_url_path(set_number: str, decoded_file_name: str) -> str:
    """Site path of one image, as it appears in a page's ``img src``."""
    return f"{IMAGE_ROOT}/{set_number}/{encode_file_name(decoded_file_name)}"


def file_name_from_src(src: str) -> str:
    """The on-disk name of an image: the last path segment of its ``src``, kept URL-encoded."""
    path = src.split("?", 1)[0].split("#", 1)[0]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if not name:
        raise ValueError(f"image src {src!r} has no file name")
    return name


def manual_id(set_number: str, slug: str) -> str:
    """``lego-<set>-<slug>-readscr``, the id the site uses for a screen-reader page."""
    return f"lego-{set_number}-{slug}{MANUAL_ID_SUFFIX}"


def split_manual_id(manual: str) -> tuple[str, str]:
    """(set number, slug) of a manual id; accepts the one known page without ``-readscr``."""
    match = _MANUAL_ID.match(manual)
    if not match:
        raise ValueError(f"manual id {manual!r} is not of the form 'lego-<set number>-<name>[-readscr]'")
    return match["set"], match["slug"]


def page_path(folder: Path) -> Path:
    """The saved page of a manual folder: ``<folder>/<folder name>.html``."""
    return folder / f"{folder.name}.html"


def images_dir(folder: Path) -> Path:
    return folder / IMAGES_DIR
