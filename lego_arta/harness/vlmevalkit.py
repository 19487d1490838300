"""VLMEvalKit's layout of a built folder: one TSV per task and a dataset class that scores with lego-arta.

VLMEvalKit (where LEGO-Puzzles lives) reads a benchmark as a TSV (``pandas.read_csv(sep="\\t")``)
with the columns ``index``, ``image`` (base64; a list of them, written as a Python list literal,
for a row with several images, named in ``image_path``), ``question`` and ``answer``, and a
dataset class, an ``ImageBaseDataset`` subclass, whose ``build_prompt(line)`` returns the
interleaved message (``[{"type": "image", "value": path}, …, {"type": "text", "value": prompt}]``)
and whose ``evaluate(eval_file)`` scores the prediction file (the rows plus ``prediction``).

:func:`export_vlmevalkit` writes ``LEGO_ARTA_<TASK>.tsv`` for every built config (test split) with
the row's ``id``, ``manual_id`` and the task's reference columns (JSON) beside those four, and
``lego_arta_vlmevalkit.py``, the class. The class holds no logic: its ``build_prompt`` calls
:func:`prompt_messages` (lego-arta's query, images written losslessly as PNG) and its
``evaluate`` calls :func:`evaluate_predictions`, which scores through
:func:`lego_arta.evaluation.scoring.score_answers`, the code of ``lego-arta score``; so the
numbers are equal on the same answers, intervals (resampling manuals) included.

>>> tsv_name("state_syn")
'LEGO_ARTA_STATE_SYN.tsv'
>>> task_of("LEGO_ARTA_STATE_SYN")
'state_syn'
"""

from __future__ import annotations

import ast
import base64
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from lego_arta.atomic import atomic_directory, atomic_write_bytes, atomic_write_text
from lego_arta.dataset.benchmark import BENCHMARK_VERSION, data_benchmark_version
from lego_arta.evaluation.built_splits import config_names, read_columns
from lego_arta.evaluation.scoring import DEFAULT_SPLIT, references_from_records, score_answers
from lego_arta.metrics import DEFAULT_RESAMPLES
from lego_arta.tasks import TASKS, get_task

#: VLMEvalKit dataset names: ``LEGO_ARTA_<TASK>``, one per task (the TSV is ``<name>.tsv``).
NAME_PREFIX = "LEGO_ARTA_"
CLASS_FILE = "lego_arta_vlmevalkit.py"
#: The columns VLMEvalKit reads, first; the row's own columns follow.
CONTRACT_COLUMNS = ("index", "image", "question", "answer")
#: Where the task's reference columns are kept, JSON-encoded (a TSV cell holds text).
ID_COLUMNS = ("id", "manual_id")
PREDICTION = "prediction"


def tsv_name(task: str) -> str:
    return f"{NAME_PREFIX}{task.upper()}.tsv"


def task_of(dataset: str) -> str:
    """The lego-arta task of a VLMEvalKit dataset name; an unknown name is an error listing the known ones."""
    task = dataset.removeprefix(NAME_PREFIX).lower()
    if not dataset.startswith(NAME_PREFIX) or task not in TASKS:
        raise ValueError(f"VLMEvalKit dataset {dataset!r}: expected {NAME_PREFIX}<TASK> for one of {', '.join(TASKS)}")
    return task


def _base64(cell: Any) -> str:
    """A stored image cell as base64 of lossless RGB PNG (VLMEvalKit decodes with PIL; RGB keeps every format it saves)."""
    data = cell["bytes"] if isinstance(cell, Mapping) else cell
    image = Image.open(io.BytesIO(data))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def task_frame(data: Path | str, task: str, split: str = DEFAULT_SPLIT) -> pd.DataFrame:
    """One task's split as VLMEvalKit's table: the contract columns, the row ids, the reference columns as JSON."""
    spec = get_task(task)
    references = tuple(dict.fromkeys(spec.reference_columns))
    wanted = tuple(dict.fromkeys(("id", "manual_id", "query", "answer", *spec.image_columns, *references)))
    columns = read_columns(data, task, split, wanted)
    rows = len(columns["id"])
    images = [[_base64(columns[name][i]) for name in spec.image_columns] for i in range(rows)]
    frame = pd.DataFrame(
        {
            "index": list(range(rows)),
            "image": [shots[0] if len(shots) == 1 else repr(shots) for shots in images],
            "question": [str(q) for q in columns["query"]],
            "answer": [str(a) for a in columns["answer"]],
            "id": [str(i) for i in columns["id"]],
            "manual_id": [str(m) for m in columns["manual_id"]],
            "task": [task] * rows,
            **{name: [json.dumps(_plain(v), sort_keys=True) for v in columns[name]] for name in references},
        }
    )
    if len(spec.image_columns) > 1:
        frame.insert(2, "image_path", [repr([f"{row_id}-{n}.png" for n in range(len(spec.image_columns))]) for row_id in frame["id"]])
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


CLASS_TEMPLATE = '''\
"""LEGO-ARTA in VLMEvalKit: one dataset per task, read from the TSVs beside this file.

Written by `lego-arta export vlmevalkit` (benchmark version {version}, from {source}). Needs
lego-arta installed beside VLMEvalKit: `build_prompt` and `evaluate` call its prompts and
metrics, so scores equal `lego-arta score` on the same answers. Use it from Python:

    from lego_arta_vlmevalkit import LegoArta
    dataset = LegoArta("LEGO_ARTA_STATE")
    dataset.build_prompt(dataset.data.iloc[0])
    dataset.evaluate("MODEL_LEGO_ARTA_STATE.xlsx")
"""

from pathlib import Path

from vlmeval.dataset.image_base import ImageBaseDataset
from vlmeval.smp import load

from lego_arta.harness import vlmevalkit

HERE = Path(__file__).resolve().parent


class LegoArta(ImageBaseDataset):
    TYPE = "VQA"
    MODALITY = "IMAGE"
    DATASET_URL = {{{urls}}}
    DATASET_MD5 = {{}}
    BENCHMARK_VERSION = "{version}"

    def load_data(self, dataset):
        return load(str(HERE / f"{{dataset}}.tsv"))

    def build_prompt(self, line):
        if isinstance(line, int):
            line = self.data.iloc[line]
        return vlmevalkit.prompt_messages(line, self.img_root)

    def evaluate(self, eval_file, **judge_kwargs):
        return vlmevalkit.evaluate_predictions(vlmevalkit.task_of(self.dataset_name), load(eval_file))
'''


def class_file(tasks: Sequence[str], *, version: str, source: str) -> str:
    """The dataset class file for ``tasks``: names and version only, every method calls this module."""
    urls = ", ".join(f'"{tsv_name(task)[:-4]}": ""' for task in tasks)
    return CLASS_TEMPLATE.format(urls=urls, version=version, source=source)


def export_vlmevalkit(data: Path, out: Path, *, split: str = DEFAULT_SPLIT, overwrite: bool = False) -> list[Path]:
    """Write one ``LEGO_ARTA_<TASK>.tsv`` per config of the built folder ``data`` and the class file into ``out`` (atomically)."""
    data, out = Path(data), Path(out)
    tasks = [config for config in config_names(data) if config in TASKS]
    if not tasks:
        raise ValueError(f"{data}: no LEGO-ARTA config to export (it has: {', '.join(config_names(data)) or 'none'})")
    version = data_benchmark_version(data)
    with atomic_directory(out, overwrite=overwrite) as tmp:
        for task in tasks:
            atomic_write_text(tmp / tsv_name(task), task_frame(data, task, split).to_csv(sep="\t", index=False, lineterminator="\n"))
        atomic_write_text(tmp / CLASS_FILE, class_file(tasks, version=version, source=f"{data.name} ({split} split)"))
    return [out / tsv_name(task) for task in tasks] + [out / CLASS_FILE]


def _images(line: Mapping[str, Any]) -> list[str]:
    image = line["image"]
    if isinstance(image, list):
        return [str(x) for x in image]
    text = str(image)
    return [str(x) for x in ast.literal_eval(text)] if text.startswith("[") else [text]


def prompt_messages(line: Mapping[str, Any], image_root: Path | str) -> list[dict[str, str]]:
    """VLMEvalKit's message for one TSV row: its images as PNG files under ``image_root`` (lossless,
    one name per row id), then lego-arta's query for the row.

    The query is the row's own ``question`` (the task's prompt as the build composed it, the
    same text ``lego-arta eval`` sends in the main query setting).
    """
    root = Path(image_root)
    root.mkdir(parents=True, exist_ok=True)
    messages = []
    for n, encoded in enumerate(_images(line)):
        path = root / f"{line['id']}-{n}.png"
        if not path.is_file():
            atomic_write_bytes(path, base64.b64decode(encoded))
        messages.append({"type": "image", "value": str(path)})
    messages.append({"type": "text", "value": str(line["question"])})
    return messages


def evaluate_predictions(task: str, frame: pd.DataFrame, *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, float]:
    """Scores of a VLMEvalKit prediction table (the TSV's rows with a ``prediction`` column), with
    ``<metric>_low``/``<metric>_high`` bounds, from :func:`~lego_arta.evaluation.scoring.score_answers`.

    A row whose prediction is empty (NaN in the table) is scored as the empty answer.
    """
    spec = get_task(task)
    missing = [name for name in (*ID_COLUMNS, "answer", PREDICTION, *spec.reference_columns) if name not in frame.columns]
    if missing:
        raise ValueError(
            f"VLMEvalKit predictions for {task}: no {', '.join(missing)} column(s) (expected the exported TSV's rows plus {PREDICTION})"
        )
    records = [
        {
            "id": str(row["id"]),
            "manual_id": str(row["manual_id"]),
            "answer": str(row["answer"]),
            **{name: _cell(row[name]) for name in spec.reference_columns},
        }
        for _, row in frame.iterrows()
    ]
    references = references_from_records(task, records, where=f"VLMEvalKit predictions ({task})")
    answers = {str(row["id"]): _text(row[PREDICTION]) for _, row in frame.iterrows()}
    result = score_answers(task, references, answers, n_resamples=n_resamples, seed=seed)
    scores: dict[str, float] = {}
    for metric, value in result.scores.items():
        low, high = result.intervals[metric]
        scores.update({metric: value, f"{metric}_low": low, f"{metric}_high": high})
    return scores


def _cell(value: Any) -> Any:
    """A reference cell as written (JSON text), or as ``pandas.read_csv`` typed it (it reads ``3`` as
    an int, ``true`` as a bool and ``null`` as NaN).

    >>> [_cell(v) for v in ('["red", "2x2"]', 3, True, float("nan"))]
    [['red', '2x2'], 3, True, None]
    """
    if isinstance(value, str):
        return json.loads(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


__all__ = ["BENCHMARK_VERSION", "export_vlmevalkit", "evaluate_predictions", "prompt_messages", "task_frame", "task_of", "tsv_name"]
