"""The README's served-model commands run as written: ``transformers serve``, a smoke ``lego-arta eval``, ``kill $!``.

Only the port changes (a free one instead of 8000); the quick-start build the commands read is
the session's build, and ``out/tiny`` the session's tiny model (the README's no-GPU block makes
it). The server is started from the README's own command line and stopped where the block says
``kill $!``, by its PID.
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

import pytest

from lego_arta.harness.local_server import START_TIMEOUT_S, free_port, healthy, stop_process

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[3] / "README.md"
SECTION = "### Evaluate GPT-4o, Claude, Gemini, or a model you serve"


def readme_commands() -> list[str]:
    """The first bash block of the README's served-model section, one string per command (continuations joined)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text[text.index(SECTION) :], re.S)
    assert block, f"README.md: no bash block under {SECTION!r}"
    joined = block.group(1).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_section_names_each_step() -> None:
    commands = readme_commands()
    starts = [" ".join(shlex.split(c, comments=True)[:2]) for c in commands]
    assert starts == ["transformers serve", "curl --retry", "export OPENAI_API_KEY=unused", "lego-arta eval", "kill $!"]


def test_the_readme_commands_run_against_transformers_serve(served_data: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    port = str(free_port())
    (tmp_path / "out" / "quickstart").mkdir(parents=True)
    (tmp_path / "out" / "quickstart" / "lego-arta").symlink_to(served_data)
    (tmp_path / "out" / "tiny").symlink_to(tiny_model_dir)  # the block serves the tiny model the no-GPU block made
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("OPENAI_API_KEY", None)
    server = None
    try:
        for command in readme_commands():
            command = command.replace("8000", port)
            words = shlex.split(command, comments=True)
            if words[0] == "export":
                name, _, value = words[1].partition("=")
                env[name] = value
            elif words[:2] == ["transformers", "serve"]:
                assert words[-1] == "&", "the README starts the server in the background"
                server = subprocess.Popen(
                    words[:-1], cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                deadline = time.monotonic() + START_TIMEOUT_S
                while not healthy(int(port)):
                    assert server.poll() is None and time.monotonic() < deadline, "transformers serve did not come up"
                    time.sleep(0.5)
            elif words[0] == "kill":
                assert words[1:] == ["$!"] and server is not None, "the block stops the server it started"
                stop_process(server)
                server = None
            else:
                done = subprocess.run(words, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
                assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    finally:
        if server is not None:
            stop_process(server)
    results = json.loads(next((tmp_path / "out" / "eval-served").rglob("*_results.json")).read_text())
    assert {
        task: results["n-samples"][task]["effective"] for task in ("lego_arta_scene", "lego_arta_object", "lego_arta_state")
    } == dict.fromkeys(("lego_arta_scene", "lego_arta_object", "lego_arta_state"), 2)
    assert results["lego_arta_usage"]["this_run"]["requests"] == 6
