"""The probe tasks: two frames and a binary label per item, read from a built dataset.

- ``state``: (previous assembly image, candidate image) → correct (1) or incorrect (0). The
  candidate is the state row's image (the real step, or one with the new part displaced); the
  previous assembly image is the ``scene`` row of the same manual and session one step earlier
  (scene rows hold each step's assembly image), so the build must include ``scene`` too. A state
  row without that previous image is a counted skip. Accuracy is also reported per
  ``negative_kind``. Reversed frames keep the label (the candidate is as right or wrong as before).
- ``order``: the ``order`` row's two frames → attached (1) or removed (0). Reversing the frames
  turns an attached item into a removed one, so the reversed label is the opposite.

Images are referenced by the SHA-256 of their encoded bytes (the feature cache's key), so an
image shared by tasks or rows is encoded once: ``--task state,order`` makes one backbone pass
over the union of their images.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from lego_arta.checksum import sha256_bytes as image_key
from lego_arta.evaluation.built_splits import read_columns
from lego_arta.tasks import get_task

#: Probe tasks, in report order.
PROBE_TASKS: tuple[str, ...] = ("state", "order")


@dataclass(frozen=True)
class ProbeItem:
    """Two frames (image keys, in order), the label, the label with the frames reversed, a group for
    per-kind accuracy, and the manual the item comes from (epochs are chosen on held-out manuals)."""

    id: str
    frames: tuple[str, str]
    label: int
    reversed_label: int
    kind: str
    manual: str


@dataclass
class ProbeSplit:
    """Items of one task and split, the encoded images they reference (key → bytes), and counted skips."""

    task: str
    split: str
    items: list[ProbeItem] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    skips: Counter[str] = field(default_factory=Counter)
    #: The task's reference columns, one value per item: what scoring the probe as a VLM answer needs.
    references: dict[str, list[object]] = field(default_factory=dict)


def _bytes(cell: object, where: str) -> bytes:
    """The encoded image of a cell: a local build's embedded bytes, or a Hub split's decoded image as PNG."""
    if isinstance(cell, dict) and isinstance(cell.get("bytes"), bytes):
        return cell["bytes"]
    if isinstance(cell, Image.Image):
        buffer = io.BytesIO()
        cell.convert("RGB").save(buffer, format="PNG")
        return buffer.getvalue()
    raise ValueError(f"{where}: image cell without embedded bytes (a local build embeds every image)")


def _add(split: ProbeSplit, cell: object, where: str) -> str:
    data = _bytes(cell, where)
    key = image_key(data)
    split.images.setdefault(key, data)
    return key


def state_split(data: Path | str, split: str) -> ProbeSplit:
    out = ProbeSplit("state", split)
    scene = read_columns(data, "scene", split, ["manual_id", "session", "step_num", "image"])
    steps: dict[tuple[str, str, int], object] = {}
    for manual, session, step, cell in zip(scene["manual_id"], scene["session"], scene["step_num"], scene["image"]):
        steps.setdefault((manual, session, int(step)), cell)
    rows = read_columns(data, "state", split, ["id", "manual_id", "session", "step_num", "image", "label", "negative_kind"])
    for i, row_id in enumerate(rows["id"]):
        previous = steps.get((rows["manual_id"][i], rows["session"][i], int(rows["step_num"][i]) - 1))
        if previous is None:
            out.skips["state: no scene row holds the previous step's assembly image"] += 1
            continue
        where = f"{data} state/{split} row {row_id}"
        frames = (_add(out, previous, where), _add(out, rows["image"][i], where))
        label = int(bool(rows["label"][i]))
        out.items.append(ProbeItem(row_id, frames, label, label, str(rows["negative_kind"][i]), str(rows["manual_id"][i])))
        for column in get_task("state").reference_columns:  # what the state metrics read (group_acc: the state's key)
            out.references.setdefault(column, []).append(rows[column][i])
    return out


def order_split(data: Path | str, split: str) -> ProbeSplit:
    out = ProbeSplit("order", split)
    rows = read_columns(data, "order", split, ["id", "manual_id", "image", "second_image", "label", "pair"])
    for i, row_id in enumerate(rows["id"]):
        where = f"{data} order/{split} row {row_id}"
        frames = (_add(out, rows["image"][i], where), _add(out, rows["second_image"][i], where))
        attached, pair = int(bool(rows["label"][i])), rows["pair"][i]
        out.items.append(
            ProbeItem(row_id, frames, attached, 1 - attached, "attached" if attached else "removed", str(rows["manual_id"][i]))
        )
        out.references.setdefault("label", []).append(bool(attached))
        out.references.setdefault("pair", []).append(dict(pair))
    return out


def probe_split(data: Path | str, task: str, split: str) -> ProbeSplit:
    """The items of probe task ``task`` (one of :data:`PROBE_TASKS`) in ``split``; an unknown task is an error."""
    readers = {"state": state_split, "order": order_split}
    if task not in readers:
        raise ValueError(f"unknown probe task {task!r}; expected one of {', '.join(PROBE_TASKS)}")
    result = readers[task](data, split)
    if not result.items:
        raise ValueError(f"{data}: no {task} items in the {split} split (skipped: {dict(result.skips) or 'none'})")
    return result
