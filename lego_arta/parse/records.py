"""The study's normalised per-row JSON record (SPEC §2), one object per manual row.

Field names follow the original study so its downstream scripts keep working. Annotation fields
(``background_rect``, ``color_list``, ``bound_color``, ``grounding``, ...) are ``None`` after parsing
and are filled by the annotation stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lego_arta.atomic import atomic_write_text
from lego_arta.parse.manual import Manual, Row

#: Keys of the ``VLM`` block that annotation fills in later.
ANNOTATION_KEYS: tuple[str, ...] = ("background_rect", "color_list", "bound_color", "task_label", "query", "grounding")


def _relative(manual: Manual, row: Row | None) -> str | None:
    if row is None:
        return None
    return f"{manual.manual_id}/{row.image.path.relative_to(manual.folder).as_posix()}"


def row_record(manual: Manual, row: Row) -> dict[str, Any]:
    """The normalised record of one row."""
    if row.step_class == "eop":
        parts_row: Row | None = row
    elif row.step_class == "step" and row.step_num is not None:
        parts_row = manual.eop_row(row.session, row.step_num)
    else:
        parts_row = None
    return {
        "instruction_id": f"{manual.manual_id}#{row.index:04d}",
        "text": [line.text for line in row.lines],
        "entities": [[{entity.cls: entity.text} for entity in line.entities] for line in row.lines],
        "img": row.image.src,
        "VLM": {
            "img_path": _relative(manual, row),
            "parts_img_path": _relative(manual, parts_row),
            "id_sign": row.session,
            "step_num": row.step_num,
            "step_class": row.step_class,
            **{key: None for key in ANNOTATION_KEYS},
        },
    }


def manual_records(manual: Manual) -> Iterator[dict[str, Any]]:
    for row in manual.rows:
        yield row_record(manual, row)


class NoRecordsError(ValueError):
    """Nothing at all was parsed: an empty records file would look like a success, so none is written."""


def write_records(manuals: Iterable[Manual], out: Path) -> int:
    """Write one JSON line per row of every manual (atomically); returns the number of records.

    Raises :class:`NoRecordsError` (and writes nothing) when there is no row to write.
    """
    lines = [json.dumps(record, ensure_ascii=False, sort_keys=True) for m in manuals for record in manual_records(m)]
    if not lines:
        skipped = len(getattr(manuals, "skips", ()))
        raise NoRecordsError(f"no records parsed ({skipped} manual(s) or row(s) skipped); {out} not written")
    atomic_write_text(Path(out), "".join(line + "\n" for line in lines))
    return len(lines)
