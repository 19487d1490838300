"""Three tiny raw manual folders in the site's structure, for crawler tests.

A stand-in until the synthetic generator is used instead: each manual is a screen-reader page with
the real row structure (``div.manual-table-container`` > ``div.row`` > ``.image img`` + ``.text
.txtbox`` with entity spans) and a few 8x6 PNGs named like the real ones (``#`` and spaces
URL-encoded). One manual lacks the ``-readscr`` suffix, like the one real page that does.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path

from PIL import Image

from lego_arta.source.layout import encode_file_name, image_url_path, images_dir, page_path, split_manual_id

IMAGE_SIZE = (8, 6)

#: manual id → rows of (decoded image file name, text lines as (entity class or "", words) runs).
MANUALS: dict[str, list[tuple[str, list[list[tuple[str, str]]]]]] = {
    "lego-60263-ocean-mini-submarine-readscr": [
        ("sm01-Start.png", [[("", "LEGO Audio & Braille Building Instructions for the set Ocean Mini-Submarine.")]]),
        (
            "sm01-Bag-0001_eop_Step ##A.png",
            [[("verb", "Find"), ("det", "2"), ("colorinfo", "transparent red"), ("theme", "flat tiles 1x2"), ("suffix", ".")]],
        ),
        ("sm01-Bag-0001_step_Step ##A.png", [[("verb", "Put"), ("", "them on the"), ("target", "plate"), ("suffix", ".")]]),
        ("sm01-Bag-0002_step.png", [[("verb", "Attach"), ("det", "1"), ("theme", "propeller"), ("suffix", ".")]]),
        ("sm01-Start.png", [[("", "You have finished the submarine. Enjoy!")]]),
    ],
    "lego-60399-green-race-car-readscr": [
        ("sm01-Start.png", [[("", "LEGO Audio & Braille Building Instructions for the set Green Race Car.")]]),
        (
            "sm01-Bag-0012_eop_Step ##E.png",
            [[("verb", "Find"), ("det", "1"), ("colorinfo", "bright yellow"), ("theme", "Minifigure head"), ("suffix", ".")]],
        ),
        ("sm01-Bag-0012_step_Step ##E.png", [[("verb", "Put"), ("", "it on the"), ("target", "body"), ("suffix", ".")]]),
    ],
    "lego-60274-elite-police-lighthouse-capture-mobile": [
        ("sm01-Start.png", [[("", "LEGO Audio & Braille Building Instructions for the set Elite Police Lighthouse.")]]),
        (
            "sm02-Bag-0003_eop.png",
            [
                [("verb", "Collect"), ("", "the following 2 pieces:"), ("det", "1"), ("colorinfo", "white"), ("theme", "torso")],
                [("det", "1"), ("colorinfo", "black"), ("theme", "pair of legs"), ("suffix", ".")],
            ],
        ),
        ("sm02-Bag-0003_step.png", [[("verb", "Insert"), ("", "the legs into the"), ("target", "torso"), ("suffix", ".")]]),
    ],
}


def png_bytes(index: int) -> bytes:
    """A small PNG whose colour depends on ``index`` only, so every run writes the same bytes."""
    colour = ((37 * index) % 256, (91 * index + 40) % 256, (53 * index + 120) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", IMAGE_SIZE, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def page_html(manual: str, rows: list[tuple[str, list[list[tuple[str, str]]]]]) -> str:
    """A screen-reader page in the site's structure for the given rows."""
    set_number, _ = split_manual_id(manual)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(manual)}</title></head><body>',
        '<header><a class="logo" href="/"><img src="/wp-content/uploads/logo.png" alt="home"></a></header>',
        '<main><div class="manual-table-container">',
    ]
    for file_name, lines in rows:
        src = image_url_path(set_number, file_name)
        parts.append(f'<div class="row"><div class="image"><img src="{escape(src)}" alt=""></div><div class="text">')
        for runs in lines:
            words = " ".join(f'<span class="{cls}">{escape(text)}</span>' if cls else escape(text) for cls, text in runs)
            parts.append(f'<div class="txtbox">{words}</div>')
        parts.append("</div></div>")
    parts.append("</div></main></body></html>")
    return "\n".join(parts) + "\n"


def write_raw_manuals(root: Path) -> list[str]:
    """Write every manual of :data:`MANUALS` under ``root``; returns their ids, sorted."""
    image_index = 0
    for manual, rows in MANUALS.items():
        folder = root / manual
        images_dir(folder).mkdir(parents=True, exist_ok=True)
        for file_name, _ in rows:
            target = images_dir(folder) / encode_file_name(file_name)
            if not target.exists():
                image_index += 1
                target.write_bytes(png_bytes(image_index))
        page_path(folder).write_text(page_html(manual, rows), encoding="utf-8")
    return sorted(MANUALS)
