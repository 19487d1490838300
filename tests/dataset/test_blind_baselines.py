"""Blind baselines (image statistics only, query text only, ids and metadata only) learn nothing
that answers the tasks on a build with render-true negatives (the quick-start recipe).

Each learner of :mod:`lego_arta.evaluation.blind` is fitted on the train split and scored on the
test split. State is scored here with scikit-learn's balanced accuracy (chance 0.5, whatever the
1:3 label balance); scene and object against the weight-free floors of ``lego-arta baselines``
(TF-IDF retrieval of a train instruction; the centre box), computed here from the same rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from lego_arta.answers import parse_yes_no
from lego_arta.evaluation.blind import blind_answers, image_statistics, metadata_features, score_blind
from lego_arta.evaluation.scoring import join_answers, load_references, task_scores
from lego_arta.tasks.floors import nearest_train_answers
from lego_arta.tasks.object import centre_box_answer
from tests.dataset.built_folder import read_rows

#: Balanced accuracy a blind learner may reach on state (chance: 0.5).
MAX_STATE_BALANCED_ACCURACY = 0.6
#: Points above the floor a blind learner may reach on scene (T_ACC, ROUGE-1) and object (IoU).
SCENE_MARGIN = 10.0
OBJECT_MARGIN = 5.0


def _floors(data: Path) -> dict[str, dict[str, float]]:
    train, test = read_rows(data, "scene", "train"), read_rows(data, "scene", "test")
    order = sorted(range(len(train)), key=lambda i: train[i]["id"])
    scene = nearest_train_answers([train[i]["query"] for i in order], [train[i]["answer"] for i in order], [r["query"] for r in test])
    objects = read_rows(data, "object", "test")
    floors = {}
    for task, ids, answers in (
        ("scene", [r["id"] for r in test], scene),
        ("object", [r["id"] for r in objects], [centre_box_answer(r["query"]) for r in objects]),
    ):
        references = load_references(task, data)
        floors[task] = task_scores(task, join_answers(references, dict(zip(ids, answers))).answers, references)
    return floors


@pytest.fixture(scope="module")
def floors(built_dataset: Path) -> dict[str, dict[str, float]]:
    return _floors(built_dataset)


def _state_balanced_accuracy(data: Path, channel: str) -> float:
    ids, answers = blind_answers(data, "state", channel)
    labels = {r["id"]: bool(r["label"]) for r in read_rows(data, "state", "test")}
    verdicts = [parse_yes_no(a) for a in answers]
    assert None not in verdicts and len(ids) == len(labels)
    return float(balanced_accuracy_score([labels[i] for i in ids], verdicts))


CHANNEL_PARAMS = [pytest.param("image", marks=pytest.mark.slow), "text", "meta"]


@pytest.mark.parametrize("channel", CHANNEL_PARAMS)
def test_a_blind_learner_stays_near_chance_on_state(built_dataset: Path, channel: str) -> None:
    accuracy = _state_balanced_accuracy(built_dataset, channel)
    assert accuracy <= MAX_STATE_BALANCED_ACCURACY, f"the {channel} channel alone tells Yes from No: balanced accuracy {accuracy:.3f}"


@pytest.mark.parametrize("channel", CHANNEL_PARAMS)
def test_a_blind_learner_stays_near_the_scene_floor(built_dataset: Path, floors: dict[str, dict[str, float]], channel: str) -> None:
    scores = score_blind(built_dataset, "scene", channel)
    for metric in ("t_acc", "rouge1"):
        assert scores[metric] <= floors["scene"][metric] + SCENE_MARGIN, (channel, metric, scores[metric], floors["scene"][metric])


@pytest.mark.parametrize("channel", CHANNEL_PARAMS)
def test_a_blind_learner_stays_near_the_object_floor(built_dataset: Path, floors: dict[str, dict[str, float]], channel: str) -> None:
    scores = score_blind(built_dataset, "object", channel)
    assert scores["iou"] <= floors["object"]["iou"] + OBJECT_MARGIN, (channel, scores["iou"], floors["object"]["iou"])


def test_the_guard_catches_a_leak(built_dataset: Path, tmp_path: Path) -> None:
    """The state check can fail: with the label written into the step number, the meta learner finds it."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    leaky = tmp_path / "leaky"
    shutil.copytree(built_dataset, leaky)
    for shard in sorted((leaky / "state").glob("*.parquet")):
        table = pq.read_table(shard)
        steps = pa.array(
            [1000 * int(label) + step for label, step in zip(table["label"].to_pylist(), table["step_num"].to_pylist())], pa.int32()
        )
        pq.write_table(table.set_column(table.schema.get_field_index("step_num"), "step_num", steps), shard)
    assert _state_balanced_accuracy(leaky, "meta") > 0.9


def test_the_features_see_what_they_claim() -> None:
    grey, noisy = np.full((40, 60, 3), 128, np.uint8), np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    assert not np.array_equal(image_statistics(grey), image_statistics(noisy))
    assert metadata_features(["ff"], ["sm10-Bag"], [3]).tolist() == [[15.0, 15.0, 0, 0, 0, 0, 0, 0, 10.0, 3.0]]
