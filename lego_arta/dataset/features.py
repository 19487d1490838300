"""``datasets`` features of the three configs: one definition for the builder, the export and the card."""

from __future__ import annotations

import datasets
from datasets import Features, Value

# ``List`` arrived in datasets 4; 3.x (the last line that runs loading scripts) spells it ``Sequence``.
_List = getattr(datasets, "List", None) or datasets.Sequence

COMMON = {
    "id": Value("string"),
    "image": datasets.Image(),
    "query": Value("string"),
    "answer": Value("string"),
    "task_token": Value("string"),
    "instruction": Value("string"),
    "question": Value("string"),
    "manual_id": Value("string"),
    "session": Value("string"),
    "step_num": Value("int32"),
}

SPECIFIC = {
    "scene": {"entities": _List(Value("string"))},
    "object": {
        "object": Value("string"),
        "box": _List(Value("float32"), length=4),
        "entities": _List(Value("string")),
        "quadrant": Value("int8"),
    },
    "state": {"label": Value("bool"), "negative_kind": Value("string"), "displacement": Value("float32")},
}


def config_features(config: str) -> Features:
    """Features of one config (``scene``, ``object`` or ``state``)."""
    if config not in SPECIFIC:
        raise ValueError(f"unknown config {config!r}; expected one of {sorted(SPECIFIC)}")
    return Features({**COMMON, **SPECIFIC[config]})
