"""``lego-arta synth``: plan, render and write synthetic manuals in the raw on-disk layout.

Each manual is written into a temporary folder and renamed into place, and the output folder as a
whole appears only when every manual is done, so an interrupted run leaves nothing half-written.
Same (count, seed, size) ⇒ byte-identical folders, whatever the number of worker processes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from lego_arta.atomic import OutputKind, atomic_directory, atomic_write_bytes, atomic_write_text
from lego_arta.boxes import PixelBox
from lego_arta.executor import Executor, LocalExecutor
from lego_arta.png import ENCODER, RECORD_FILE, EncodingRecord, encode_png
from lego_arta.source.layout import (
    IMAGES_DIR,
    TRUTH_FILE,
    ImageName,
    encode_file_name,
)
from lego_arta.source.synth.model import Colour, ManualPlan, Placement, SessionPlan, Shape
from lego_arta.source.synth.page import RowSpec, page_html
from lego_arta.source.synth.plan import plan_manual
from lego_arta.source.synth.render import fit_view, render_assembly, render_parts, render_start

#: Default image size: about 1024 px wide with the real images' aspect ratio (2778x1284).
DEFAULT_WIDTH = 1024
DEFAULT_HEIGHT = 473
#: Folder of per-pixel part labels of assembly images (ground truth for segmentation checks).
LABELS_DIR = "truth-labels"
#: The record a synthesis leaves at the top of its folder (config and manual ids); it marks the
#: folder as one ``synthesize`` may replace, and lets a build reuse a cached synthesis.
SYNTH_RECORD = "synth.json"
#: A synthesis folder; older ``synth.json`` files name their writer as ``generator``.
SYNTH_OUTPUT = OutputKind("synth", SYNTH_RECORD, legacy=lambda record: record.get("generator") == "lego-arta synth")


@dataclass(frozen=True)
class SynthConfig:
    """What a synthetic corpus is made of; recorded so a corpus can be regenerated exactly."""

    manuals: int = 6
    seed: int = 0
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT


def _write_image(folder: Path, name: str, image: Image.Image, written: dict[str, bytes]) -> None:
    """Write ``image`` as ``images/<name>`` in the project's one PNG encoding, and remember its
    bytes for the manual's :class:`~lego_arta.png.EncodingRecord` (a build then embeds them
    instead of encoding the pixels again)."""
    data = encode_png(image)
    atomic_write_bytes(folder / IMAGES_DIR / name, data)
    written[f"{IMAGES_DIR}/{name}"] = data


def _labels_png(labels: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", labels.astype(np.uint16))
    if not ok:
        raise RuntimeError("could not encode a label map as PNG")
    return encoded.tobytes()


def _placement_json(placement: Placement) -> dict[str, Any]:
    return {
        "kind": placement.shape.kind,
        "short": placement.shape.short,
        "long": placement.shape.long,
        "name": placement.shape.name,
        "colour": placement.colour.name,
        "rgb": list(placement.colour.rgb),
        "x": placement.x,
        "y": placement.y,
        "z": placement.z,
        "along_x": placement.along_x,
    }


def _box(box: PixelBox) -> list[int]:
    return [int(v) for v in box]


def start_image_name(plan: ManualPlan) -> ImageName:
    """``sm01-Start.png``: named after the first session's prefix, as in the real data."""
    prefix = plan.sessions[0].name.split("-", 1)[0]
    return ImageName(session=prefix, step_class="start")


def found_parts(session: SessionPlan, step_index: int) -> list[tuple[Shape, Colour]]:
    """Every part instance an object-finding row asks for, in the order the line names them."""
    return [(group.shape, group.colour) for group in session.steps[step_index].find for _ in range(group.count)]


def _write_session(
    session: SessionPlan, folder: Path, width: int, height: int, rows: list[RowSpec], written: dict[str, bytes]
) -> tuple[dict[str, Any], list[Sequence[Placement]]]:
    placements = session.placements
    view = fit_view(placements, width, height)
    boundary = session.boundary.rgb if session.boundary is not None else None
    present: list[int] = []
    steps_truth: list[dict[str, Any]] = []
    for step_index, step in enumerate(session.steps):
        step_truth: dict[str, Any] = {"number": step.number, "placed": list(step.placed), "eop": None}
        before = [placements[i] for i in present]
        if step.has_eop:
            name = ImageName(session.name, "eop", step.number, step.code).file_name()
            parts = found_parts(session, step_index)
            rendering = render_parts(before, parts, width, height)
            _write_image(folder, encode_file_name(name), rendering.image.convert("RGB"), written)
            rows.append((name, step.eop_lines))
            step_truth["eop"] = {
                "file": encode_file_name(name),
                "parts": [
                    {"name": shape.name, "colour": colour.name, "box": _box(rendering.boxes[i])} for i, (shape, colour) in enumerate(parts)
                ],
                "assembly_box": _box(rendering.boxes[-1]) if -1 in rendering.boxes else None,
            }
        present.extend(step.placed)
        name = ImageName(session.name, "step", step.number, step.code).file_name()
        rendering = render_assembly([placements[i] for i in present], view, highlight=_local(present, step.placed), boundary=boundary)
        encoded = encode_file_name(name)
        _write_image(folder, encoded, rendering.image, written)
        atomic_write_bytes(folder / LABELS_DIR / encoded, _labels_png(rendering.labels))
        rows.append((name, step.step_lines))
        step_truth["step"] = {
            "file": encoded,
            "labels": f"{LABELS_DIR}/{encoded}",
            "present": list(present),
            "boxes": {str(present[i]): _box(box) for i, box in sorted(rendering.boxes.items())},
        }
        steps_truth.append(step_truth)
    truth = {
        "name": session.name,
        "title": session.title,
        "boundary": None if session.boundary is None else {"name": session.boundary.name, "rgb": list(boundary or ())},
        "placements": [_placement_json(p) for p in placements],
        "steps": steps_truth,
    }
    return truth, [placements]


def _local(present: Sequence[int], placed: Sequence[int]) -> list[int]:
    """Positions in the rendered list (``present``) of the placements added by this step."""
    wanted = set(placed)
    return [position for position, index in enumerate(present) if index in wanted]


def write_manual(plan: ManualPlan, out_root: Path, *, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT) -> Path:
    """Render and write one manual folder (page, images, truth) atomically under ``out_root``."""
    target = Path(out_root) / plan.manual_id
    with atomic_directory(target, overwrite=True, lock=False) as folder:  # inside the synthesis's own temporary
        start = start_image_name(plan)
        rows: list[RowSpec] = [(start.file_name(), plan.intro_lines)]
        sessions_truth = []
        models: list[Sequence[Placement]] = []
        written: dict[str, bytes] = {}
        for session in plan.sessions:
            truth, model = _write_session(session, folder, width, height, rows, written)
            sessions_truth.append(truth)
            models.extend(model)
        start_file = encode_file_name(start.file_name())
        _write_image(folder, start_file, render_start(models, width, height).convert("RGBA"), written)
        atomic_write_text(folder / RECORD_FILE, EncodingRecord.of(written).to_json())
        rows.extend((start.file_name(), [line]) for line in plan.closing_lines)
        atomic_write_text(folder / f"{plan.manual_id}.html", page_html(plan, rows))
        truth_doc = {
            "manual_id": plan.manual_id,
            "set_number": plan.set_number,
            "set_name": plan.set_name,
            "image_size": [width, height],
            "highlighted": plan.highlighted,
            "start": {"file": start_file},
            "sessions": sessions_truth,
        }
        atomic_write_text(folder / TRUTH_FILE, json.dumps(truth_doc, indent=1, sort_keys=True) + "\n")
    return target


def _synth_one(args: tuple[int, int, int, int, str]) -> str:
    index, seed, width, height, out_root = args
    return write_manual(plan_manual(index, seed), Path(out_root), width=width, height=height).name


def synthesize(
    out: Path,
    config: SynthConfig = SynthConfig(),
    *,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    executor: Executor | None = None,
) -> list[str]:
    """Write ``config.manuals`` synthetic manuals into ``out`` (atomically); returns their ids in order.

    ``executor`` renders the manuals (default: ``workers`` local processes); with Ray on several
    machines, ``out``'s parent must be a filesystem every node sees at the same path.

    ``overwrite`` replaces only an earlier synthesis (a folder holding :data:`SYNTH_RECORD`); any
    other existing folder is refused, never deleted.
    """
    with atomic_directory(Path(out), overwrite=overwrite, owner=SYNTH_OUTPUT) as tmp:
        jobs = [(i, config.seed, config.width, config.height, str(tmp)) for i in range(config.manuals)]
        ids: list[str] = []
        with tqdm(total=len(jobs), desc="synthesizing manuals", unit="manual", disable=not progress) as bar:  # closed on error too
            for manual in (executor or LocalExecutor(workers)).map(_synth_one, jobs):
                ids.append(manual)
                bar.update()
        recipe = {
            "generator": "lego-arta synth",
            "manuals": config.manuals,
            "seed": config.seed,
            "width": config.width,
            "height": config.height,
            "png_encoder": ENCODER,
            "manual_ids": ids,
        }
        atomic_write_text(tmp / SYNTH_RECORD, json.dumps(SYNTH_OUTPUT.stamp(recipe), indent=1, sort_keys=True) + "\n")
    return ids
