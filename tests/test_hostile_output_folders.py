"""One writer per output folder, and ``--overwrite`` only over a folder of the writer's own kind.

Issue 28, cases 1, 2 and 13: ``export llava --out BUILD --overwrite`` deleted a build (both leave a
``manifest.json``); two builds into one ``--out`` both exited 0 and one output was lost; a folder
created at ``--out`` while a build ran was deleted; ``kill -9`` left a ``.NAME.*.tmp`` folder that
nothing removed. The builds here are real ``lego-arta build`` processes on the session's synthetic
manuals; the second writer is stopped with SIGSTOP (not raced by timing) where the test needs it
to be mid-run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lego_arta.atomic import WRITTEN_BY, OutputBusyError, OutputKind, atomic_directory, output_lock
from lego_arta.cli import main
from lego_arta.dataset.layout import BUILD_OUTPUT, EXPORT_OUTPUT, MANIFEST
from tests.conftest import TEST_HEIGHT, TEST_WIDTH
from tests.support.cli import error_printed
from tests.support.folders import folder_files
from tests.support.lock_holder import hold_output

ROOT = Path(__file__).resolve().parents[1]
#: A running build's start (imports, reading manuals) takes seconds on a loaded machine.
WAIT_S = 240.0


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        name: hostile
        source: {{kind: synthetic, manuals: 4, seed: 7, width: {TEST_WIDTH}, height: {TEST_HEIGHT}}}
        grounder: truth
        collage_width: {TEST_WIDTH}
        collage_height: {TEST_HEIGHT}
        seed: 0
        """)
    )
    return path


def _build_args(recipe: Path, raw: Path, out: Path, *extra: str) -> list[str]:
    return ["build", str(recipe), "--raw", str(raw), "--out", str(out), "--workers", "1", *extra]


def _start_build(recipe: Path, raw: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "lego_arta", *_build_args(recipe, raw, out)],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if process.poll() is not None:
            pytest.fail(
                f"the build ended (exit {process.returncode}) before {what}: {process.stdout.read()[-2000:] if process.stdout else ''}"
            )
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} within {WAIT_S} s")
        time.sleep(0.01)


def _temporaries(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.") and p.name.endswith(".tmp"))


def _locked_by(out: Path, pid: int) -> Callable[[], bool]:
    lock = out.parent / f".{out.name}.lock"

    def held() -> bool:
        try:
            return lock.read_text().strip() == str(pid)
        except OSError:
            return False

    return held


def _writing(out: Path) -> Callable[[], bool]:
    return lambda: bool(_temporaries(out))


def _marker(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


# ---------------------------------------------------------------------------- markers name their kind


def test_export_overwrite_onto_a_build_is_refused_naming_both_kinds(
    built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Path(shutil.copytree(built_dataset, tmp_path / "other-build"))
    before = folder_files(other)
    assert main(["export", "llava", str(built_dataset), "--out", str(other), "--overwrite"]) == 2
    message = " ".join(error_printed(capsys).split())
    assert "lego-arta build" in message and "lego-arta export llava" in message
    assert folder_files(other) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-build"]


def test_build_and_export_markers_name_their_kind_and_each_replaces_its_own(
    built_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _marker(built_dataset)[WRITTEN_BY] == "lego-arta build"
    exported = tmp_path / "llava"
    assert main(["export", "llava", str(built_dataset), "--out", str(exported)]) == 0
    assert _marker(exported)[WRITTEN_BY] == "lego-arta export llava"
    first = folder_files(exported)
    assert main(["export", "llava", str(built_dataset), "--out", str(exported), "--overwrite"]) == 0
    assert folder_files(exported) == first


def test_build_overwrite_onto_an_export_is_refused(
    built_dataset: Path, synthetic_raw: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "llava"
    assert main(["export", "llava", str(built_dataset), "--out", str(exported)]) == 0
    before = folder_files(exported)
    assert main(_build_args(recipe, synthetic_raw, exported, "--overwrite")) == 2
    message = " ".join(error_printed(capsys).split())
    assert "`lego-arta export llava`" in message and "`lego-arta build`" in message
    assert folder_files(exported) == before


@pytest.mark.parametrize(
    ("record", "build_may", "export_may"),
    [
        ({"recipe": {}, "counts": {}}, True, False),  # a build manifest from before markers named their kind
        ({"exported_from": {}, "files": {}}, False, True),  # an older export's
        ({"files": {}}, False, False),  # neither: no writer can be told
        ({WRITTEN_BY: "lego-arta build", "exported_from": {}}, True, False),  # the named kind wins
        ({WRITTEN_BY: ["x" * 10_000]}, False, False),  # a hostile value: refused, and not printed
    ],
)
def test_overwrite_follows_the_kind_the_marker_names(tmp_path: Path, record: dict, build_may: bool, export_may: bool) -> None:
    for kind, allowed in ((BUILD_OUTPUT, build_may), (EXPORT_OUTPUT, export_may)):
        target = tmp_path / "out"
        target.mkdir(exist_ok=True)
        (target / MANIFEST).write_text(json.dumps(record))
        (target / "keep.txt").write_text("keep")
        if allowed:
            with atomic_directory(target, overwrite=True, owner=kind) as tmp:
                (tmp / MANIFEST).write_text(json.dumps(kind.stamp({})))
            assert not (target / "keep.txt").exists()
        else:
            with pytest.raises(FileExistsError, match=f"`{kind.label}` replaces only a folder it wrote itself") as caught:
                with atomic_directory(target, overwrite=True, owner=kind):
                    pass
            assert len(str(caught.value)) < 400
            assert (target / "keep.txt").read_text() == "keep"
        shutil.rmtree(target)


def test_a_corrupt_marker_is_refused_not_a_traceback(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / MANIFEST).write_bytes(b"[" * 100_000)  # deep JSON: RecursionError inside json
    with pytest.raises(FileExistsError, match="unknown writer"):
        with atomic_directory(target, overwrite=True, owner=BUILD_OUTPUT):
            pass
    assert (target / MANIFEST).read_bytes() == b"[" * 100_000


# ---------------------------------------------------------------------------- one writer per output folder


def test_a_second_writer_refuses_naming_the_holders_pid_and_a_killed_holder_frees_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "built"
    holder = hold_output(out)
    try:
        with pytest.raises(OutputBusyError, match=f"PID {holder.pid}"):
            with output_lock(out):
                pass
        with pytest.raises(OutputBusyError):
            with atomic_directory(out):
                pass
        stale = tmp_path / ".built.k1ll3d_9.tmp"
        stale.mkdir()
    finally:
        holder.kill()  # SIGKILL: no cleanup runs in the holder
        holder.wait()
    assert (tmp_path / ".built.lock").exists()  # left behind by the killed holder, with its PID
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("mine")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["built"]  # stale temporary and lock gone
    assert (out / "a.txt").read_text() == "mine"


def test_the_lock_is_reentrant_and_sibling_names_are_not_touched(tmp_path: Path) -> None:
    out = tmp_path / "built"
    (tmp_path / ".built.v2.abcdefgh.tmp").mkdir()  # another output's temporary (built.v2)
    (tmp_path / ".built.abcdefgh.tmp").mkdir()
    with output_lock(out), output_lock(out), atomic_directory(out) as tmp:
        (tmp / "x").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".built.v2.abcdefgh.tmp", "built"]


def test_a_shared_cache_lock_waits_instead_of_refusing(tmp_path: Path) -> None:
    out = tmp_path / "cache"
    holder = hold_output(out)
    try:
        started = time.monotonic()
        killer = subprocess.Popen(
            [sys.executable, "-c", f"import time, os, signal; time.sleep(0.5); os.kill({holder.pid}, signal.SIGKILL)"]
        )
        with output_lock(out, wait=True):
            assert time.monotonic() - started > 0.3
        killer.wait()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow  # a real build in a second process
def test_two_builds_into_one_folder_the_second_refuses_the_first_completes(
    synthetic_raw: Path, recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "built"
    first = _start_build(recipe, synthetic_raw, out)
    _wait_for(_locked_by(out, first.pid), first, "the first build's lock")
    os.kill(first.pid, signal.SIGSTOP)
    try:
        assert main(_build_args(recipe, synthetic_raw, out)) == 2
        assert f"PID {first.pid}" in " ".join(error_printed(capsys).split())
        assert main(_build_args(recipe, synthetic_raw, out, "--overwrite")) == 2
    finally:
        os.kill(first.pid, signal.SIGCONT)
    output, _ = first.communicate(timeout=WAIT_S)
    assert first.returncode == 0, output[-2000:]
    assert _marker(out)[WRITTEN_BY] == "lego-arta build"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".built", "built"))) == ["built"]


@pytest.mark.slow  # a real build in a second process
def test_a_folder_created_at_out_during_a_build_survives_it(synthetic_raw: Path, recipe: Path, tmp_path: Path) -> None:
    out = tmp_path / "built"
    first = _start_build(recipe, synthetic_raw, out)
    _wait_for(_writing(out), first, "the build's temporary folder")  # past the start check: the swap must re-check
    os.kill(first.pid, signal.SIGSTOP)
    try:
        out.mkdir()
        (out / "notes.txt").write_text("my notes")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    output, _ = first.communicate(timeout=WAIT_S)
    assert first.returncode == 2, output[-2000:]
    assert "appeared while this command ran" in " ".join(output.split())
    assert folder_files(out) == {"notes.txt": b"my notes"}
    assert _temporaries(out) == [] and not (tmp_path / ".built.lock").exists()


@pytest.mark.slow  # a real build in a second process
def test_kill_9_mid_build_then_a_plain_rerun_leaves_no_temporary(synthetic_raw: Path, recipe: Path, tmp_path: Path) -> None:
    """Since issue 27 a killed build keeps its staging area for ``--resume``: a plain rerun refuses in one
    line naming it (issue 28 ties the clean-up to ``--resume``), and the resumed build leaves nothing behind."""
    out = tmp_path / "built"
    staging = out.parent / f".{out.name}.staging"
    first = _start_build(recipe, synthetic_raw, out)
    _wait_for(lambda: staging.is_dir() and any(staging.rglob("*.parquet")), first, "the build's first staged manual")
    first.kill()
    first.wait()
    assert main(_build_args(recipe, synthetic_raw, out)) == 2
    assert main([*_build_args(recipe, synthetic_raw, out), "--resume"]) == 0
    assert _temporaries(out) == [] and not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".built", "built"))) == ["built"]


def test_output_kinds_compare_by_label_only() -> None:
    assert OutputKind("build", MANIFEST).accepts({WRITTEN_BY: "lego-arta build"})
    assert not OutputKind("build", MANIFEST).accepts({WRITTEN_BY: "lego-arta export llava"})
    assert not OutputKind("build", MANIFEST).accepts(["lego-arta build"])


def test_a_corrupt_synth_json_in_the_cache_is_a_message_naming_it(recipe: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 28: a KeyError traceback. The cache is a synthesis folder; a damaged marker is refused, never guessed at."""
    from lego_arta.dataset.pipeline import default_raw_dir
    from lego_arta.dataset.recipe import load_recipe

    out = tmp_path / "built"
    cache = default_raw_dir(load_recipe(recipe), out)
    cache.mkdir(parents=True)
    (cache / "synth.json").write_text('{"manuals": 4}')
    (cache / "keep.txt").write_text("keep")
    assert main(["build", str(recipe), "--out", str(out), "--workers", "1"]) == 2
    compact = "".join(error_printed(capsys).split())
    assert str(cache) in compact and "synth.jsonwaswrittenbyanunknownwriter" in compact
    assert (cache / "keep.txt").read_text() == "keep" and not out.exists()


# ---------------------------------------------------------------------------- a full disk (case 11)

#: Run in a new user and mount namespace on a small tmpfs: a real filesystem that fills up, no root needed.
_SMALL_DISK = 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"'

_OVERWRITE_ON_A_FULL_DISK = """
import hashlib, json, os, sys
from pathlib import Path
from lego_arta.cli import main
recipe, raw, out = sys.argv[1:4]
args = ["build", recipe, "--raw", raw, "--out", out, "--workers", "1"]
def files():
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(out).rglob("*")) if p.is_file()}
first = main(args)
before = files()
size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
disk = os.statvfs(out)
ballast = Path(out).parents[1] / "ballast"
ballast.write_bytes(bytes(disk.f_bavail * disk.f_frsize - size // 2))  # half a build's room is left
second = main(args + ["--overwrite"])
print("RESULT " + json.dumps({"first": first, "second": second, "kept": files() == before, "beside": sorted(p.name for p in Path(out).parent.iterdir())}))
"""


def _on_a_small_disk(size: str, mount: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    mount.mkdir(parents=True, exist_ok=True)
    command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _SMALL_DISK, "sh", size, str(mount), *argv]
    if shutil.which("unshare") is None or subprocess.run(command[: -len(argv)] + ["true"], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here: unshare or unprivileged user namespaces are unavailable")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S * 2)


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.mark.slow  # two real builds in a second process
def test_a_full_disk_during_build_overwrite_is_one_line_and_the_old_build_is_kept(
    synthetic_raw: Path, recipe: Path, tmp_path: Path
) -> None:
    """Issue 28, case 11: ENOSPC from pyarrow while ``build --overwrite`` writes. The disk is a real
    tmpfs filled so that half a build fits; the command exits 2 with one line, the previous build is
    byte-for-byte intact, and no temporary or staging area is left beside it."""
    mount = tmp_path / "disk"
    run = _on_a_small_disk(
        "256m", mount, [sys.executable, "-c", _OVERWRITE_ON_A_FULL_DISK, str(recipe), str(synthetic_raw), str(mount / "out" / "built")]
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    result = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    assert result == {"first": 0, "second": 2, "kept": True, "beside": ["built"]}, output[-3000:]
    assert _errors(run.stderr) == ["error: no space left on the device holding the output: free some space or choose another --out"]
    assert _errors(run.stdout) == [], "the error goes to stderr; stdout is for results"
    assert "Traceback" not in output


def test_a_full_disk_during_synth_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """Issue 28, case 11: ``synth`` onto a 64 KiB tmpfs exits 2 with one line naming the cause, and the
    disk is empty afterwards (no half-written manual, no temporary)."""
    mount = tmp_path / "disk"
    script = 'import os, sys; from lego_arta.cli import main; code = main(sys.argv[1:]); print("LEFT", sorted(os.listdir(os.path.dirname(sys.argv[-1])))); sys.exit(code)'
    out = mount / "raw"
    run = _on_a_small_disk(
        "64k",
        mount,
        [
            sys.executable,
            "-c",
            script,
            "synth",
            "--manuals",
            "2",
            "--seed",
            "7",
            "--width",
            str(TEST_WIDTH),
            "--height",
            str(TEST_HEIGHT),
            "--out",
            str(out),
        ],
    )
    output = run.stdout + run.stderr
    assert run.returncode == 2, output[-3000:]
    assert _errors(run.stderr) == ["error: no space left on the device holding the output: free some space or choose another --out"]
    assert _errors(run.stdout) == [], "the error goes to stderr; stdout is for results"
    assert "LEFT []" in output and "Traceback" not in output
