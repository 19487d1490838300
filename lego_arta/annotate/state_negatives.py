"""The negatives of one state: the recipe's ``negatives`` kinds, drawn in a seeded order and filled.

A state gets ``negatives_per_state`` negatives. Its kinds come from the recipe's list: the list is
put in a seeded random order and cycled, one negative per turn, so ``[displaced]`` gives three
pasted negatives (the study) and the quick-start mix gives three different kinds. A kind that
cannot be made for this state (a square part cannot be rotated, a one-part step cannot miss a part,
a crawled manual has no 3D truth) is passed over, its turn counted under the reason, and the next
kind fills the slot; a state left short is the pair maker's counted skip.

>>> KINDS[0], needs_truth(("displaced",)), needs_truth(("displaced", "shifted"))
('displaced', False, True)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lego_arta.annotate.negatives import make_negatives
from lego_arta.annotate.rendered_negatives import RENDER_KINDS, iter_negatives, step_scene

#: The pasted method of the study, then the render-true kinds of :mod:`.rendered_negatives`.
PASTED_KIND = "displaced"
KINDS: tuple[str, ...] = (PASTED_KIND, *RENDER_KINDS)


def needs_truth(kinds: Sequence[str]) -> bool:
    """Whether any of ``kinds`` re-renders from the 3D truth (only synthetic manuals have it)."""
    return any(kind in RENDER_KINDS for kind in kinds)


@dataclass(frozen=True)
class StateNegatives:
    """Negatives of one state (each with ``.image``, ``.kind``, ``.displacement``) and the turns
    that gave none, by ``"<kind>: <reason>"``."""

    negatives: tuple[Any, ...]
    rejected: Counter[str]


def _pasted(
    step_image: np.ndarray, previous_image: np.ndarray, boundary: Any, rng: np.random.Generator, count: int, min_displacement: float
) -> Iterator[Any] | str:
    result = make_negatives(step_image, previous_image, boundary, rng, count=count, min_displacement=min_displacement)
    if not result.negatives:
        return next(iter(result.rejected)) if result.rejected else "no room to displace"
    return iter(result.negatives)


def state_negatives(
    kinds: Sequence[str],
    count: int,
    rng: np.random.Generator,
    *,
    manual_folder: Path,
    step_file: str,
    step_image: np.ndarray,
    previous_image: np.ndarray,
    boundary: Any,
    min_displacement: float,
) -> StateNegatives:
    """Up to ``count`` negatives of one state from ``kinds`` (see the module docstring).

    ``step_file`` is the step image's file name in the manual's raw folder (its key in the truth);
    the pasted kind works on the pixels alone.
    """
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"unknown negative kind(s) {unknown}; expected some of {list(KINDS)}")
    # One kind draws nothing here, so a one-kind recipe ([displaced]) pastes exactly as before the mix.
    order = list(kinds) if len(kinds) == 1 else [kinds[int(i)] for i in rng.permutation(len(kinds))]
    sources: dict[str, Iterator[Any] | None] = {}
    made: list[Any] = []
    rejected: Counter[str] = Counter()
    live = list(dict.fromkeys(order))
    turn = 0
    while len(made) < count and live:
        kind = live[turn % len(live)]
        if kind not in sources:
            if kind == PASTED_KIND:
                found = _pasted(step_image, previous_image, boundary, rng, count, min_displacement)
            else:
                scene = step_scene(manual_folder, step_file)
                found = scene if isinstance(scene, str) else iter_negatives(scene, kind, rng, positive=step_image)
            if isinstance(found, str):
                rejected[f"{kind}: {found}"] += 1
                live.remove(kind)
                continue
            sources[kind] = found
        negative = next(sources[kind], None)  # type: ignore[arg-type]
        if negative is None:
            rejected[f"{kind}: no further distinct error"] += 1
            live.remove(kind)
            continue
        made.append(negative)
        turn += 1
    return StateNegatives(tuple(made), rejected)
