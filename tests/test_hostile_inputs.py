"""Hostile inputs, round 2 (issue 28): names, bounded work, wrong successes, one-line errors.

Every case is run through the real command (``lego_arta.cli.main``) or the real reader, on
inputs the test writes itself; work is checked by its growth on growing inputs (ratios), never
by a timed assertion.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.answers import parse_boxes, parse_object_label, parse_yes_no
from lego_arta.atomic import MAX_NAME_PART, name_part
from lego_arta.cli import main
from lego_arta.commands.options import number
from lego_arta.errors import EXIT_USAGE, describe, guard
from lego_arta.evaluation.scoring import MAX_ANSWER_CHARS, MAX_PREDICTION_LINE_BYTES, read_predictions
from lego_arta.inputs import brief, load_yaml, read_json_file
from lego_arta.tasks.synonyms import load_trees
from tests.support.cli import error_printed
from tests.support.growth import growth_per_unit

ROOT = Path(__file__).resolve().parents[1]


def _ids(built: Path, config: str = "state", split: str = "test") -> list[str]:
    return pq.read_table(sorted((built / config).glob(f"{split}-*.parquet")), columns=["id"]).column("id").to_pylist()


def _predictions(path: Path, answers: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "answer": a}) + "\n" for i, a in answers.items()), encoding="utf-8")
    return path


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------- names are names (case 4)


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "..", "a/../../b", "x" * 500, "", "\x00evil", ".hidden"])
def test_score_name_never_leaves_out(built_dataset: Path, tmp_path: Path, name: str) -> None:
    predictions = _predictions(tmp_path / "p.jsonl", dict.fromkeys(_ids(built_dataset), "Yes"))
    out = tmp_path / "deep" / "er" / "results"
    code = main(
        [
            "score",
            "--task",
            "state",
            "--predictions",
            str(predictions),
            "--data",
            str(built_dataset),
            "--out",
            str(out),
            "--name",
            name,
            "--resamples",
            "10",
        ]
    )
    assert code == 0
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p != predictions)
    assert len(written) == 2 and all(p.parent == out for p in written), written
    assert all(not p.name.startswith(".") and len(p.name) < MAX_NAME_PART + 40 for p in written)
    assert json.loads((written[0] if written[0].suffix == ".json" else written[1]).read_text())["rows"][0]["system"] == (name or "p")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_name_part_is_one_safe_component(name: str) -> None:
    part = name_part(name)
    assert part and len(part) <= MAX_NAME_PART
    assert "/" not in part and "\\" not in part and "\x00" not in part and not part.startswith(".")
    assert Path(part).name == part and part not in (".", "..")


def test_long_names_stay_apart() -> None:
    assert name_part("a" * 200 + "1") != name_part("a" * 200 + "2")


# ---------------------------------------------------------------------------- bounded work (cases 5, 6)


#: Inputs that made the parsers superlinear (a box then a long run of spaces backtracked quadratically).
GROWING: dict[str, Callable[[int], str]] = {
    "box then spaces": lambda n: "<1><2><3><4>" + " " * n + "x",
    "qwen pair then spaces": lambda n: "<box>(1,2)" + " " * n + "x",
    "brace then spaces": lambda n: "{<1><2><3><4>" + " " * n + "}" + " " * n + "x",
    "unclosed tags": lambda n: "<p>" * (n // 3),
    "yes words": lambda n: "yes and " * (n // 8),
    "sentences": lambda n: "maybe. " * (n // 7),
    "open lists": lambda n: "[1, 2, 3," * (n // 8),
}


@pytest.mark.slow  # 256k-character answers, three rounds each
@pytest.mark.parametrize("shape", sorted(GROWING))
def test_answer_parsers_are_linear(shape: str) -> None:
    """Sixteen times the input costs about sixteen times the work: at most four times the work per character
    (quadratic would be sixteen times)."""
    make = GROWING[shape]
    small, large = make(16_000), make(256_000)

    def parse(text: str) -> Callable[[], object]:
        return lambda: (parse_boxes(text), parse_yes_no(text), parse_object_label(text))

    growth = growth_per_unit(parse(small), parse(large), times=16)
    assert growth < 4, f"{shape}: 16x the input took {growth:.1f}x the work per character"


def test_a_huge_answer_line_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    peaks = []
    for size in (4, 32):
        path = tmp_path / f"huge-{size}.jsonl"
        with path.open("w") as handle:
            handle.write('{"id": "a", "answer": "Yes"}\n{"id": "b", "answer": "')
            handle.write("y" * (size * 1024**2))
            handle.write('"}\n')
        tracemalloc.start()
        with pytest.raises(ValueError, match=rf"{path.name}:2: line over"):
            read_predictions(path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < 4 * MAX_PREDICTION_LINE_BYTES  # 8x the line, the same memory


def test_a_long_answer_is_read_up_to_the_cap(tmp_path: Path) -> None:
    path = _predictions(tmp_path / "p.jsonl", {"a": "No. " + "y" * (5 * MAX_ANSWER_CHARS)})
    answer = read_predictions(path).answers["a"]
    assert len(answer) == MAX_ANSWER_CHARS and answer.startswith("No. ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 200_000, "nested too deeply"),
        ('{"id": "a", "answer": "caf\xe9"}\n'.encode("latin-1"), "not UTF-8"),
        ('{"id": "a", "answer": "Yes"}\n'.encode("utf-16"), "not UTF-8"),
    ],
    ids=["deep", "latin-1", "utf-16"],
)
def test_bad_predictions_files_are_one_line_errors_naming_the_file(
    built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    assert main(["score", "--task", "state", "--predictions", str(path), "--data", str(built_dataset)]) == 2
    out = _one_line(error_printed(capsys))
    assert message in out and "bad.jsonl" in out and len(out) < 400


def test_a_folder_as_predictions_is_an_error(built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--task", "state", "--predictions", str(tmp_path), "--data", str(built_dataset)]) == 2
    assert "it is a folder" in _one_line(error_printed(capsys))


def _laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [shifted, rotated]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nname: laughs\nnegatives: *a{levels - 1}\n"


def test_a_yaml_billion_laughs_recipe_is_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = tmp_path / "laughs.yaml"
    recipe.write_text(_laughs())
    assert main(["build", str(recipe), "--out", str(tmp_path / "out")]) == 2
    out = _one_line(error_printed(capsys))
    assert "laughs.yaml:2: YAML aliases (*a0) are not accepted" in out and len(out) < 300
    assert not (tmp_path / "out").exists()
    tracemalloc.start()  # the reader alone, after the imports: it stops at the first alias
    with pytest.raises(ValueError, match="aliases"):
        load_yaml(_laughs(levels=30), "deeper.yaml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 1024**2


def test_a_synonym_tree_file_with_aliases_or_no_trees_is_refused(tmp_path: Path) -> None:
    laughs = tmp_path / "trees.yaml"
    laughs.write_text("x: &x [put, place]\ntrees: {put: {put: *x}}\n")
    with pytest.raises(ValueError, match="aliases"):
        load_trees(laughs)
    empty = tmp_path / "empty.yaml"
    empty.write_text("trees: {}\n")
    with pytest.raises(ValueError, match="'trees' is empty"):
        load_trees(empty)
    with pytest.raises(ValueError, match="a folder; give the synonym-tree file itself"):  # synonym-map --synonyms FOLDER
        load_trees(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("trees: {put: {put: [put, pos\xe9]}}\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin.yaml: the synonym-tree file is not UTF-8"):
        load_trees(latin)


@settings(max_examples=50, deadline=None)
@given(
    st.recursive(st.one_of(st.text(max_size=5000), st.integers(), st.none()), lambda inner: st.lists(inner, max_size=50), max_leaves=300)
)
def test_brief_is_short_whatever_the_value(value: object) -> None:
    assert len(brief(value)) <= 125


def test_brief_of_a_billion_shared_elements_is_immediate() -> None:
    value: object = ["laugh"]
    for _ in range(9):
        value = [value] * 10  # 10^9 leaves, shared as YAML aliases share them
    assert len(brief(value)) <= 125
    assert load_yaml("a: 1\n", "x.yaml") == {"a": 1}


# ---------------------------------------------------------------------------- wrong success (cases 8, 10, 11: options)


@pytest.mark.parametrize(
    "argv",
    [
        ["crawl", "--out", "OUT", "--deadline", "nan"],
        ["crawl", "--out", "OUT", "--timeout", "inf"],
        ["crawl", "--out", "OUT", "--timeout", "1e999"],
        ["crawl", "--out", "OUT", "--delay", "-1"],
        ["compare", "A", "B", "--data", "D", "--alpha", "nan"],
        ["score", "--task", "state", "--predictions", "P", "--data", "D", "--alpha", "1.5"],
        ["score", "--task", "state", "--predictions", "P", "--data", "D", "--resamples", "0"],
        ["baselines", "--data", "D", "--out", "OUT", "--alpha", "0"],
    ],
    ids=lambda argv: " ".join(argv[-2:]),
)
def test_numeric_options_must_be_finite_and_in_range(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = _one_line(capsys.readouterr().err)
    assert f"argument {argv[-2]}" in err and ("finite" in err or "out of range" in err), err
    assert not (tmp_path / "out").exists()


def test_the_number_type_reads_ordinary_values() -> None:
    assert number(float, low=0)("0") == 0.0 and number(int, low=1, high=3)("3") == 3
    for bad in ("nan", "inf", "-inf", "1e999", "x", "0x10"):
        with pytest.raises(Exception, match="not a"):
            number(float)(bad) if bad != "0x10" else number(int)(bad)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_crawl_against_a_dead_host_is_an_error_not_disallowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code = main(
        [
            "crawl",
            "--out",
            str(tmp_path / "raw"),
            "--base-url",
            url,
            "--manual",
            "lego-60399-green-race-car-readscr",
            "--delay",
            "0",
            "--retries",
            "0",
            "--timeout",
            "2",
            "--no-progress",
        ]
    )
    message = _one_line(error_printed(capsys))
    assert code == 2
    assert f"cannot reach {url}" in message and "disallowed" not in message


# ---------------------------------------------------------------------------- the guard (case 11)


def test_a_real_pyarrow_enospc_becomes_one_line() -> None:
    full = Path("/dev/full")
    if not (full.exists() and stat.S_ISCHR(full.stat().st_mode)):  # never write to a regular file of that name
        pytest.skip("no /dev/full device here")
    table = pa.table({"x": list(range(100_000))})
    with pytest.raises(OSError) as caught:
        pq.write_table(table, str(full))
    message = describe(caught.value)
    assert message is not None and message.startswith("no space left on the device") and "\n" not in message


def test_synonym_map_with_an_unknown_model_offline_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """Issue 28, case 11: a Hub id that is in no cache, with the Hub unreachable (offline mode), is one
    line naming the cause and what to do (exit 2), through the real command in its own process."""
    out = tmp_path / "map"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home"), "TRANSFORMERS_OFFLINE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "lego_arta", "synonym-map", "--model", "nobody/no-such-model-0", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 2, output[-2000:]
    assert "error:" not in run.stdout, "the error goes to stderr; stdout is for results"
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not in the local cache" in errors[0] and "give a local folder" in errors[0], output[-2000:]
    assert "Traceback" not in output and not out.exists()


def test_pyarrows_enospc_without_an_errno_becomes_one_line() -> None:
    """pyarrow raises ``OSError('Error writing bytes to file. Detail: [errno 28] No space left on device')``, errno unset."""
    message = describe(OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"))
    assert message == "no space left on the device holding the output: free some space or choose another --out"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (IsADirectoryError(errno.EISDIR, "Is a directory", "flagged.json"), "flagged.json is a folder; give a file"),
        (PermissionError(errno.EACCES, "Permission denied", "/root/out"), "permission denied: /root/out"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "x.yaml"), "x.yaml does not exist"),
        (OSError(errno.ENOSPC, "No space left on device", "out/synth/m1/a.png"), "no space left on the device holding out/synth/m1/a.png"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (MemoryError(), "out of memory"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "not UTF-8"),
        (OSError("We couldn't connect to 'https://huggingface.co' to load the files"), "not in the local cache"),
    ],
    ids=["is-a-directory", "permission", "not-found", "enospc", "recursion", "memory", "decode", "offline-model"],
)
def test_expected_failures_are_one_line_exit_2(error: BaseException, expected: str) -> None:
    message = describe(error)
    assert message is not None and expected in message and "\n" not in message

    def fail() -> int:
        raise error

    assert guard(fail, console=None) == EXIT_USAGE


def test_a_bug_keeps_its_traceback() -> None:
    def bug() -> int:
        return {}["missing"]

    with pytest.raises(KeyError):
        guard(bug, console=None)


def test_json_inputs_name_the_file_for_folders_deep_and_foreign_encodings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a folder"):
        read_json_file(tmp_path, "flagged file")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(ValueError, match="deep.json: JSON nested too deeply"):
        read_json_file(deep, "flagged file")
    wide = tmp_path / "utf16.json"
    wide.write_text('{"pairs": []}', encoding="utf-16")
    with pytest.raises(ValueError, match="utf16.json: the ratings file is UTF-16"):
        read_json_file(wide, "ratings file")


@pytest.mark.parametrize("kind", ["deep", "folder"])
def test_build_exclude_that_is_deep_or_a_folder_is_an_error(
    built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    exclude = tmp_path / "flagged.json"
    if kind == "deep":
        exclude.write_text("[" * 100_000)
    else:
        exclude.mkdir()
    recipe = ROOT / "builders" / "quickstart.yaml"
    assert main(["build", str(recipe), "--out", str(tmp_path / "out"), "--exclude", str(exclude)]) == 2
    assert "flagged.json" in _one_line(error_printed(capsys))
    assert not (tmp_path / "out").exists()
