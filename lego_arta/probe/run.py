"""One probing run: read the tasks' items, one backbone pass over all their images, train and score each probe.

:func:`probe_run` is what ``lego-arta probe`` does, as a function the tests call. Its document
(``results.json``) has a part that depends only on the inputs and the seed (byte-identical on a
rerun, whether features came from the backbone or the cache) and a ``run`` part that does not
(cache hits, seconds).

Per task and probe: ``accuracy`` on the test items, ``accuracy_reversed`` with every test item's
frames reversed (scored against the reversed label: ``order`` flips, ``state`` keeps it),
``flip_rate`` (the share of test items whose prediction changes under reversal),
``per_kind_accuracy`` (state: per ``negative_kind``; order: attached/removed),
``trainable_parameters``, ``epochs`` (how many were chosen on held-out train manuals, and the
held-out curve: :func:`lego_arta.probe.train.choose_epochs`) and the task's own metrics with the
probe's predictions read as answers (``scores``: F1/TNR/FPR for state, accuracy/symmetric-pair
accuracy/flip consistency for order).
With several tasks, ``features.shared_pass`` counts the backbone forwards that sharing one pass
saved (an image used by two tasks is encoded once; STEP §IV-D).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lego_arta.probe.backbone import Backbone, resolve_model
from lego_arta.probe.cache import FeatureCache, backbone_fingerprint, ensure_features
from lego_arta.probe.heads import PROBES
from lego_arta.probe.items import PROBE_TASKS, ProbeSplit, probe_split
from lego_arta.probe.train import FrameBank, TrainSettings, fit_probe, predict
from lego_arta.tasks import get_task

#: ``format`` of a probe results document.
PROBE_RESULTS_FORMAT = "lego-arta-probe/1"


def percent(hits: np.ndarray) -> float:
    return float(round(100.0 * float(np.mean(hits)), 6)) if len(hits) else 0.0


@dataclass(frozen=True)
class ProbeRequest:
    """What to probe: ``backbone`` (Hub id or folder), the built ``data``, tasks, probes, training settings."""

    backbone: str
    data: Path | str
    tasks: tuple[str, ...]
    probes: tuple[str, ...]
    settings: TrainSettings
    cache: Path
    device: str = "cpu"
    batch_size: int = 16

    def __post_init__(self) -> None:
        bad = [t for t in self.tasks if t not in PROBE_TASKS] + [p for p in self.probes if p not in PROBES]
        if bad or not self.tasks or not self.probes:
            raise ValueError(
                f"probe tasks must come from {', '.join(PROBE_TASKS)} and probes from {', '.join(PROBES)}; got {bad or 'none'}"
            )


def _scores(task: str, predictions: np.ndarray, split: ProbeSplit) -> dict[str, float]:
    answers = [get_task(task).verdicts[int(p)] for p in predictions]  # the VLM answer each predicted class stands for
    return {name: float(round(value, 6)) for name, value in get_task(task).scores(answers, split.references).items()}


def score_probe(task: str, test: ProbeSplit, forward: np.ndarray, backward: np.ndarray) -> dict[str, Any]:
    """The test metrics of one probe from its predictions with frames in order (``forward``) and reversed."""
    labels = np.array([item.label for item in test.items])
    reversed_labels = np.array([item.reversed_label for item in test.items])
    kinds = sorted({item.kind for item in test.items})
    kind_of = np.array([item.kind for item in test.items])
    return {
        "accuracy": percent(forward == labels),
        "accuracy_reversed": percent(backward == reversed_labels),
        "flip_rate": percent(forward != backward),
        "per_kind_accuracy": {kind: percent((forward == labels)[kind_of == kind]) for kind in kinds},
        "scores": _scores(task, forward, test),
    }


def probe_run(request: ProbeRequest) -> dict[str, Any]:
    """Run every (task, probe) of ``request``; the results document (see the module docstring)."""
    splits = {(task, split): probe_split(request.data, task, split) for task in request.tasks for split in ("train", "test")}
    folder = resolve_model(request.backbone)
    fingerprint = backbone_fingerprint(folder)
    cache = FeatureCache(request.cache, fingerprint, request.backbone)
    loaded: list[Backbone] = []

    def encode(images: list[np.ndarray]) -> torch.Tensor:
        if not loaded:
            loaded.append(Backbone(folder, device=request.device))
        return loaded[0].encode(images)

    stream = ((key, data) for split in splits.values() for key, data in split.images.items())
    extraction = ensure_features(stream, cache, encode, batch_size=request.batch_size)
    per_task = {task: len({k for (t, _), s in splits.items() if t == task for k in s.images}) for task in request.tasks}
    separate = sum(per_task.values())
    tokens = {key: cache.load(key) for split in splits.values() for key in split.images}
    shape = next(iter(tokens.values())).shape

    results, timing = [], []
    for task in request.tasks:
        train, test = splits[(task, "train")], splits[(task, "test")]
        train_bank = FrameBank.of([item.frames for item in train.items], tokens)
        test_bank = FrameBank.of([item.frames for item in test.items], tokens)
        for name in request.probes:
            labels, manuals = [item.label for item in train.items], [item.manual for item in train.items]
            trained, choice = fit_probe(name, train_bank, labels, manuals, request.settings, device=request.device)
            start = time.perf_counter()
            forward = predict(trained.module, test_bank, device=request.device)
            backward = predict(trained.module, test_bank.reversed(), device=request.device)
            inference = time.perf_counter() - start
            results.append(
                {
                    "task": task,
                    "probe": name,
                    "train_items": len(train.items),
                    "test_items": len(test.items),
                    "trainable_parameters": trained.parameters,
                    "epochs": choice.as_dict(),
                    **score_probe(task, test, forward, backward),
                    "skipped": dict(sorted((train.skips + test.skips).items())),
                }
            )
            timing.append(
                {
                    "task": task,
                    "probe": name,
                    "train_seconds": trained.seconds,
                    "probe_seconds_per_train_item_epoch": trained.seconds / (len(train.items) * choice.chosen),
                    "probe_seconds_per_test_item": inference / (2 * len(test.items)),
                }
            )
    return {
        "format": PROBE_RESULTS_FORMAT,
        "backbone": {"id": request.backbone, "fingerprint": fingerprint, "tokens_per_image": int(shape[0]), "dim": int(shape[1])},
        "data": str(request.data),
        "settings": asdict(request.settings),
        "features": {
            "images_per_task": per_task,
            "shared_pass": {
                "images_if_separate": separate,
                "images_encoded_once": extraction.images,
                "forwards_saved": separate - extraction.images,
                "compute_saved_percent": round(100.0 * (separate - extraction.images) / separate, 6),
            },
        },
        "results": results,
        "run": {
            "cache": {"folder": str(cache.folder), "cached": extraction.cached, "encoded": extraction.encoded},
            "backbone_seconds_per_image": extraction.backbone_seconds / extraction.encoded if extraction.encoded else None,
            "probes": timing,
        },
    }


def parse_names(text: str, known: Sequence[str], what: str) -> tuple[str, ...]:
    """``"state,order"`` → ``("state", "order")``; an unknown name is an error listing the known ones.

    >>> parse_names("order, state", ("state", "order"), "task")
    ('order', 'state')
    """
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [name for name in names if name not in known]
    if bad or not names:
        raise ValueError(f"unknown {what} {', '.join(bad) or '(none given)'}; expected one or more of {', '.join(known)}")
    return names
