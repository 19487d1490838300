"""The VLMEvalKit export keeps VLMEvalKit's TSV contract and scores as ``lego-arta score`` does.

VLMEvalKit's documented contract (docs/en/Development.md of open-compass/VLMEvalKit): a benchmark
is a TSV read with ``pandas.read_csv(sep="\\t")`` holding ``index``, ``image`` (base64), ``question``,
``answer``; a dataset class's ``build_prompt(line)`` returns ``[{"type": "image", "value": path}, …,
{"type": "text", "value": prompt}]`` and ``evaluate(eval_file)`` scores the rows plus ``prediction``.
The last test runs the exported class inside a real VLMEvalKit where one imports; the locked CPU
environment cannot import it (see docs/vlmevalkit.md), so there it is a reported skip.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lego_arta.evaluation.built_splits import decode_image, read_columns
from lego_arta.harness.vlmevalkit import CLASS_FILE, evaluate_predictions, export_vlmevalkit, prompt_messages, task_of, tsv_name
from tests.support.cli import run_command


@pytest.fixture(scope="module")
def exported(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vlmevalkit") / "export"
    written = export_vlmevalkit(built_dataset, out)
    assert [p.name for p in written] == [tsv_name(t) for t in ("object", "scene", "state")] + [CLASS_FILE]
    return out


def _pixels(encoded: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB"))


@pytest.mark.parametrize("task", ["scene", "object", "state"])
def test_each_tsv_keeps_the_contract_and_the_rows(exported: Path, built_dataset: Path, task: str) -> None:
    frame = pd.read_csv(exported / tsv_name(task), sep="\t")
    assert list(frame.columns[:4]) == ["index", "image", "question", "answer"]
    built = read_columns(built_dataset, task, "test", ["id", "query", "answer", "image"])
    assert list(frame["index"]) == list(range(len(built["id"]))) and frame["index"].dtype.kind == "i"
    assert list(frame["id"]) == built["id"] and list(frame["question"]) == built["query"] and list(frame["answer"]) == built["answer"]
    for row in (0, len(frame) - 1):
        assert np.array_equal(_pixels(frame["image"][row]), decode_image(built["image"][row])[..., :3]), "images are lossless"
    assert task_of(tsv_name(task)[:-4]) == task


def test_prompt_messages_write_lossless_images_then_the_query(exported: Path, tmp_path: Path) -> None:
    line = pd.read_csv(exported / tsv_name("state"), sep="\t").iloc[0]
    messages = prompt_messages(line, tmp_path / "images")
    assert [m["type"] for m in messages] == ["image", "text"] and messages[1]["value"] == line["question"]
    assert np.array_equal(np.asarray(Image.open(messages[0]["value"]).convert("RGB")), _pixels(line["image"]))
    two = dict(line, id="two", image=repr([line["image"], line["image"]]))
    assert [m["type"] for m in prompt_messages(two, tmp_path / "images")] == ["image", "image", "text"], "several images, in order"


@pytest.mark.parametrize("task", ["scene", "object", "state"])
def test_scores_equal_lego_arta_score_on_the_same_answers(
    exported: Path, built_dataset: Path, tmp_path: Path, task: str, capsys: pytest.CaptureFixture
) -> None:
    frame = pd.read_csv(exported / tsv_name(task), sep="\t").drop(columns=["image"])
    frame["prediction"] = [answer if i % 3 else "Yes." for i, answer in enumerate(frame["answer"])]
    frame.loc[1, "prediction"] = None  # an empty answer, as VLMEvalKit leaves a failed generation
    predictions = tmp_path / "predictions.tsv"
    frame.to_csv(predictions, sep="\t", index=False)
    scores = evaluate_predictions(task, pd.read_csv(predictions, sep="\t"), n_resamples=100)

    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        "".join(json.dumps({"id": i, "answer": "" if pd.isna(a) else a}) + "\n" for i, a in zip(frame["id"], frame["prediction"]))
    )
    assert (
        run_command(
            "score",
            [
                "--task",
                task,
                "--predictions",
                str(answers),
                "--data",
                str(built_dataset),
                "--out",
                str(tmp_path / "s"),
                "--resamples",
                "100",
                "--name",
                "run",
            ],
        )
        == 0
    )
    capsys.readouterr()
    rows = json.loads((tmp_path / "s" / f"run-{task}.results.json").read_text())["rows"]
    expected = {}
    for row in rows:
        expected.update({row["metric"]: row["value"], f"{row['metric']}_low": row["low"], f"{row['metric']}_high": row["high"]})
    assert scores == pytest.approx(expected) and len(scores) == 3 * len(rows)


def test_predictions_without_the_reference_columns_are_refused() -> None:
    with pytest.raises(ValueError, match=r"no id, manual_id, answer, prediction, label"):
        evaluate_predictions("state", pd.DataFrame({"index": [0]}))


def test_the_class_file_holds_names_and_calls_lego_arta(exported: Path) -> None:
    source = (exported / CLASS_FILE).read_text()
    compile(source, CLASS_FILE, "exec")
    assert "class LegoArta(ImageBaseDataset)" in source and '"LEGO_ARTA_STATE": ""' in source
    assert "vlmevalkit.prompt_messages(" in source and "vlmevalkit.evaluate_predictions(" in source


def _vlmeval_importable() -> str | None:
    probe = subprocess.run(
        [sys.executable, "-c", "from vlmeval.dataset.image_base import ImageBaseDataset"], capture_output=True, text=True
    )
    return None if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["import failed"])[-1]


@pytest.mark.slow
def test_inside_a_real_vlmevalkit(exported: Path, tmp_path: Path) -> None:
    why = _vlmeval_importable()
    if why is not None:
        pytest.skip(f"VLMEvalKit does not import here ({why}); docs/vlmevalkit.md runs this check where it does")
    script = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(exported)!r})\n"
        "from lego_arta_vlmevalkit import LegoArta\n"
        "import pandas as pd\n"
        "d = LegoArta('LEGO_ARTA_STATE')\n"
        "msgs = d.build_prompt(0)\n"
        "frame = d.data.drop(columns=['image']).copy()\n"
        "frame['prediction'] = frame['answer']\n"
        f"frame.to_csv({str(tmp_path / 'p.tsv')!r}, sep='\\t', index=False)\n"
        f"print(json.dumps([[m['type'] for m in msgs], d.evaluate({str(tmp_path / 'p.tsv')!r})['balanced_acc']]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, "LMUData": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [["image", "text"], 100.0]
