"""Draw one guide episode of a real build as ``docs/images/guide-episode.png`` (see ``docs/guide.md``).

Shows, for one state of the test split, the real step image with its episode (verdict, then the
next step) and one render-true negative with its episode (verdict, the marked box drawn on the
image, the correction). The episodes are chosen by sorted episode id among the states that have a
``shifted`` or ``wrong_layer`` negative, so a rerun on the same build draws the same picture.
Deterministic: Agg backend, bundled DejaVu fonts, no timestamp in the PNG::

    python docs/guide_example.py BUILT            # a build whose recipe names guide
    python docs/guide_example.py BUILT OUT.png
"""

from __future__ import annotations

import io
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from PIL import Image  # noqa: E402

plt.rcParams.update({"font.family": "DejaVu Sans", "svg.hashsalt": "lego-arta"})
KINDS = ("shifted", "wrong_layer", "wrong_size", "rotated", "wrong_colour")


def _episodes(built: Path) -> dict[str, list[dict]]:
    table = pq.read_table(sorted((built / "guide").glob("test-*.parquet")))
    episodes: dict[str, list[dict]] = defaultdict(list)
    for row in table.to_pylist():
        episodes[row["episode"]].append(row)
    return {key: sorted(rows, key=lambda r: len(r["history"])) for key, rows in sorted(episodes.items())}


def choose(built: Path) -> tuple[list[dict], list[dict]]:
    """(positive episode, negative episode) of the first state, by episode id, with a wanted kind."""
    episodes = _episodes(built)
    states: dict[tuple, dict[str, list[dict]]] = defaultdict(dict)
    for rows in episodes.values():
        first = rows[0]
        states[(first["manual_id"], first["session"], first["step_num"])][first["error_kind"]] = rows
    for kind in KINDS:
        for state in states.values():
            if "none" in state and kind in state:
                return state["none"], state[kind]
    raise SystemExit(f"{built}: no test state with a positive and a {'/'.join(KINDS)} negative")


def _panel(axis_image, axis_text, rows: list[dict], title: str) -> None:
    image = Image.open(io.BytesIO(rows[0]["image"]["bytes"])).convert("RGB")
    axis_image.imshow(image)
    axis_image.set_title(title, fontsize=11)
    axis_image.axis("off")
    for row in rows:
        if row["turn"] == "where":
            x1, y1, x2, y2 = (v / 100.0 * s for v, s in zip(row["box"], (*image.size, *image.size)))
            axis_image.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="red", linewidth=2.5))
    lines = []
    for number, row in enumerate(rows, start=1):
        lines += textwrap.wrap(f"Q{number} ({row['turn']}): {row['query']}", 95) + textwrap.wrap(f"A{number}: {row['answer']}", 95) + [""]
    axis_text.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=8.5, family="DejaVu Sans")
    axis_text.axis("off")


def main(built: Path, out: Path) -> None:
    positive, negative = choose(built)
    figure, axes = plt.subplots(2, 2, figsize=(15, 8.4), dpi=100, gridspec_kw={"width_ratios": [1.05, 1]})
    _panel(axes[0, 0], axes[0, 1], positive, "the real step image: Yes, then what next")
    _panel(axes[1, 0], axes[1, 1], negative, f"a {negative[0]['error_kind']} negative: No, the wrong piece (red box), the fix")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, metadata={"Software": None})
    print(f"wrote {out}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else here / "images" / "guide-episode.png")
