"""Own-history guide episodes from the command line, as docs/guide.md writes them: the tiny model
in-process, then a real ``transformers serve`` of it on loopback, each through ``lego-arta converse``.

The block runs as written, except that ``/tmp/`` becomes the test's folder (with a test-sized guide
build at ``guide-build``) and port 8000 a free one. The server is started from the block's own
command line and ended by its PID.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from lego_arta.harness.local_server import START_TIMEOUT_S, free_port, healthy, stop_process

pytestmark = pytest.mark.slow

GUIDE_DOC = Path(__file__).resolve().parents[3] / "docs" / "guide.md"
SECTION = "**Own history**"


def doc_commands() -> list[str]:
    """The bash block after the own-history paragraph of docs/guide.md, one string per command."""
    text = GUIDE_DOC.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text[text.index(SECTION) :], re.S)
    assert block, f"docs/guide.md: no bash block after {SECTION!r}"
    return [line.strip() for line in block.group(1).replace("\\\n", " ").splitlines() if line.strip()]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_own_history_runs_in_process_and_against_a_served_endpoint_as_the_docs_write_it(tmp_path: Path, guide_data: Path) -> None:
    data = tmp_path / "guide-build"
    data.symlink_to(guide_data)  # the session's guide build (tests/conftest.py); the block only reads it
    port = str(free_port())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    env.pop("OPENAI_API_KEY", None)
    commands = doc_commands()
    assert [" ".join(shlex.split(c)[:2]) for c in commands] == [
        "lego-arta tiny-model",
        "lego-arta converse",
        "lego-arta score",
        "transformers serve",
        "curl --retry",
        "lego-arta converse",
    ]
    server = None
    try:
        for command in commands:
            words = shlex.split(command.replace("/tmp/", f"{tmp_path}/").replace("8000", port))
            if words[:2] == ["transformers", "serve"]:
                assert words[-1] == "&", "the docs start the server in the background"
                server = subprocess.Popen(words[:-1], env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                deadline = time.monotonic() + START_TIMEOUT_S
                while not healthy(int(port)):
                    assert server.poll() is None and time.monotonic() < deadline, "transformers serve did not come up"
                    time.sleep(0.5)
            else:
                done = subprocess.run(words, env=env, capture_output=True, text=True, check=False)
                assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    finally:
        if server is not None:
            stop_process(server)
    rows = {row["id"]: row for row in pq.read_table(sorted((data / "guide").glob("test-*.parquet"))).drop(["image"]).to_pylist()}
    for out, where in (
        ("guide-own", {"model_dir": f"{tmp_path}/tiny-llava"}),
        ("guide-served", {"base_url": f"http://127.0.0.1:{port}/v1"}),
    ):
        lines = _lines(tmp_path / out / "tiny-llava-guide.predictions.jsonl")
        assert lines and all(line["mode"] == "own_history" and line["id"] in rows for line in lines)
        episodes = {rows[line["id"]]["episode"] for line in lines}
        assert len(episodes) == 2
        # Every row of the two episodes is written (a turn after a wrong verdict as ""), and every verdict was answered.
        assert sorted(line["id"] for line in lines) == sorted(i for i, row in rows.items() if row["episode"] in episodes)
        assert all(line["answer"] for line in lines if rows[line["id"]]["turn"] == "verdict")
        results = json.loads((tmp_path / out / "tiny-llava-guide.results.json").read_text())
        (run,) = results["runs"]
        assert run["mode"] == run["setting"] == "own_history" and run["rows"] == len(lines) and run["missing"] == 0
        assert {key: run[key] for key in where} == where
        assert {row["setting"] for row in results["rows"]} == {"own_history"}
        assert {"guide_verdict_bacc", "guide_success"} <= {row["metric"] for row in results["rows"]}
