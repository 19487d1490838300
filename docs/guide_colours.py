"""Count the highlighted parts whose tinted colour a person would name differently, and check the
boundary vote, on a folder of synthetic raw manuals (the numbers in ``docs/guide.md``)::

    lego-arta synth --out /tmp/qs-raw --manuals 6 --seed 0
    python docs/guide_colours.py /tmp/qs-raw

"Renamed" means the nearest palette name (CIE Lab) of the part's colour tinted toward its session's
outline colour is not the part's own: at the old fixed 25% tint, and at the tint the renderer now
chooses (:func:`lego_arta.source.synth.render.part_tint`). The vote is the build's own
(:func:`lego_arta.dataset.pairs.session_votes`) on the rendered images.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from lego_arta.dataset.pairs import session_votes
from lego_arta.dataset.recipe import load_recipe
from lego_arta.parse.manual import manual_folders, read_manual
from lego_arta.source.synth.catalog import colour_by_name
from lego_arta.source.synth.render import HIGHLIGHT_TINT, nearest_colour_name, part_tint

#: A voted colour within this many RGB units per channel of the true outline colour is right.
VOTE_TOLERANCE = 12


def naming(raw: Path) -> dict[str, object]:
    tints: Counter[float] = Counter()
    renamed_fixed = renamed_now = total = 0
    for folder in manual_folders(raw):
        for session in json.loads((folder / "truth.json").read_text())["sessions"]:
            if not session["boundary"]:
                continue
            outline = tuple(session["boundary"]["rgb"])
            for step in session["steps"]:
                for index in step["placed"]:
                    colour = colour_by_name(session["placements"][index]["colour"])
                    tint = part_tint(colour, outline)
                    mixed = [np.asarray(colour.rgb) * (1 - t) + t * np.asarray(outline) for t in (HIGHLIGHT_TINT, tint)]
                    total, tints[tint] = total + 1, tints[tint] + 1
                    renamed_fixed += nearest_colour_name(mixed[0]) != colour.name
                    renamed_now += nearest_colour_name(mixed[1]) != colour.name
    return {"highlighted parts": total, "renamed at 25%": renamed_fixed, "renamed now": renamed_now, "tints": dict(sorted(tints.items()))}


def votes(raw: Path, recipe: Path) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for folder in manual_folders(raw):
        truth = {s["name"]: s for s in json.loads((folder / "truth.json").read_text())["sessions"]}
        for name, vote in session_votes(read_manual(folder), load_recipe(recipe)).items():
            true, got = (truth[name]["boundary"] or {}).get("rgb"), vote.bound_color if vote else None
            if true is None:
                counts["plain: no vote" if got is None else "plain: false vote"] += 1
            elif got is not None and max(abs(a - b) for a, b in zip(got, true)) <= VOTE_TOLERANCE:
                counts["highlighted: right colour"] += 1
            else:
                counts["highlighted: missed or wrong"] += 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print(
        json.dumps({"naming": naming(folder), "vote": votes(folder, Path(__file__).resolve().parents[1] / "builders" / "quickstart.yaml")})
    )
