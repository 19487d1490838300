"""A finetune run writes into ``--output`` and ``--overwrite`` deletes it, so only an empty or new
folder, or an earlier run's folder, is accepted (issue 16: a mistyped ``--output`` lost its files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lego_arta.cli import main
from lego_arta.finetune.train import RUN_CONFIG
from tests.support.cli import error_printed
from tests.support.folders import folder_files
from tests.support.lock_holder import hold_output


@pytest.mark.parametrize("overwrite", [False, True])
def test_finetune_refuses_a_folder_that_is_not_a_run(
    tiny_model: Path, tmp_path: Path, overwrite: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    thesis = tmp_path / "thesis"
    (thesis / "adapter").mkdir(parents=True)
    (thesis / "chapter1.tex").write_text("precious")
    (thesis / "adapter" / "figure.png").write_bytes(b"\x89PNG")
    before = folder_files(thesis)
    argv = [
        "finetune",
        "--model",
        str(tiny_model),
        "--data",
        str(tmp_path / "built"),
        "--output",
        str(thesis),
        "--max-steps",
        "1",
        "--no-progress",
    ]
    assert main(argv + (["--overwrite"] if overwrite else [])) == 2
    assert RUN_CONFIG in "".join(error_printed(capsys).split()), "the message names the mark of a run"
    assert folder_files(thesis) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_finetune_refuses_a_file_as_output(tiny_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("keep")
    assert (
        main(
            [
                "finetune",
                "--model",
                str(tiny_model),
                "--data",
                str(tmp_path / "built"),
                "--output",
                str(target),
                "--overwrite",
                "--no-progress",
            ]
        )
        == 2
    )
    assert target.read_text() == "keep"


def test_finetune_into_a_folder_another_writer_holds_refuses_naming_its_pid(
    tiny_model: Path, built_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28: one writer per output folder. While another process holds ``--out`` (as a running
    finetune does for its whole run), a second finetune exits 2 naming the holder, and writes nothing."""
    out = tmp_path / "run"
    argv = ["finetune", "--model", str(tiny_model), "--data", str(built_data), "--out", str(out), "--max-steps", "1", "--no-progress"]
    holder = hold_output(out)
    try:
        for extra in ([], ["--overwrite"]):
            assert main(argv + extra) == 2
            assert f"PID {holder.pid}" in " ".join(error_printed(capsys).split())
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
