"""The ``lego-arta`` entry point: one module per verb, one flag vocabulary, help grouped along the data path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lego_arta.cli import build_parser, command_module, main, parse_args
from lego_arta.commands import COMMANDS, GROUPS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_every_verb_lives_in_its_own_module(verb: str) -> None:
    module = command_module(verb)
    assert module.__name__ == f"lego_arta.commands.{verb.replace('-', '_')}"
    assert module.GROUP in dict(GROUPS) and module.HELP
    assert callable(module.add_arguments) and callable(module.run)


def test_every_command_module_is_listed() -> None:
    files = {path.stem for path in (ROOT / "lego_arta" / "commands").glob("*.py")} - {"__init__", "options"}
    assert files == {verb.replace("-", "_") for verb in COMMANDS}


def test_help_lists_the_verbs_grouped_along_the_data_path(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert "SUPPRESS" not in printed
    headings = [printed.index(f"{heading}:") for _, heading in GROUPS]
    assert headings == sorted(headings)
    assert printed.index("  synth") < printed.index("  build") < printed.index("  eval") < printed.index("  finetune")


HEAVY = ("torch", "lmms_eval", "datasets", "transformers", "sklearn")


@pytest.mark.parametrize(
    "call",
    ["build_parser('parse')", "main(['--help'])", "main(['--halp'])"],
    ids=["light verb", "help", "unknown verb"],
)
def test_help_imports_no_heavy_library(call: str) -> None:
    """``lego-arta --help``, a mistyped verb and the parser of one light verb import none of torch,
    lmms-eval, datasets, transformers or scikit-learn (together 15 s of a loaded 2-core machine
    for a list of verbs, before ``--help`` stopped building every verb's arguments)."""
    code = (
        "import contextlib, io, sys; from lego_arta.cli import build_parser, main\n"
        f"with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()): {call}\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            ["eval", "--data", "d", "--model", "dummy", "--output", "o", "--model_args", "response=Yes"],
            ["eval", "--data", "d", "--model", "dummy", "--out", "o", "--model-args", "response=Yes"],
        ),
        (
            ["eval", "--data", "d", "--model", "dummy", "--output=o", "--model_args=response=Yes"],
            ["eval", "--data", "d", "--model", "dummy", "--out", "o", "--model-args", "response=Yes"],
        ),
        (["finetune", "--model", "m", "--data", "d", "--output", "o"], ["finetune", "--model", "m", "--data", "d", "--out", "o"]),
    ],
)
def test_old_flag_spellings_still_parse(old: list[str], new: list[str]) -> None:
    assert vars(parse_args(old)) == vars(parse_args(new))


def test_old_spellings_are_hidden_from_help() -> None:
    text = build_parser("eval")._subparsers._group_actions[0].choices["eval"].format_help()
    assert "--out " in text and "--model-args" in text
    assert "--output" not in text and "--model_args" not in text


def test_what_follows_a_bare_double_dash_is_left_alone() -> None:
    args = parse_args(["eval", "--data", "d", "--model", "dummy", "--out", "o", "--", "--output_path", "x", "--output", "y"])
    assert args.extra == ["--", "--output_path", "x", "--output", "y"]


def test_task_lists_are_comma_separated_everywhere() -> None:
    assert parse_args(["qa", "make", "--data", "d", "--out", "o", "--tasks", "object,state"]).tasks == ("object", "state")
    assert parse_args(["finetune", "--model", "m", "--data", "d", "--out", "o", "--tasks", "scene,state"]).tasks == ("scene", "state")
    assert parse_args(["eval", "--data", "d", "--model", "dummy", "--out", "o", "--tasks", "lego_arta_state,lego_arta_scene"]).tasks


def test_help_texts_state_the_true_defaults() -> None:
    """A default named in a help text is the default the parser uses."""
    text = build_parser("build")._subparsers._group_actions[0].choices["build"].format_help()
    workers = parse_args(["build", "r.yaml", "--out", "o"]).workers
    assert f"default: {workers})" in " ".join(text.split())
