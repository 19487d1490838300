"""A real OpenAI-compatible server for the served-model tests: ``transformers serve`` on 127.0.0.1.

The tiny LLaVA (``lego-arta tiny-model``'s code) is written once per session and served on CPU by
a ``transformers serve`` subprocess on a free loopback port; the fixture waits for ``/health``
and ends the server by its PID. A dataset with every config the tests ask (the study's three,
a synonym variant and ``order``) is built once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from lego_arta.harness import task_docs
from lego_arta.models.tiny_vlm import build_tiny_vlm
from tests.support.fault_proxy import FaultProxy

#: How long ``transformers serve`` may take to answer ``/health`` (importing torch and FastAPI on a loaded machine).
START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 20.0
#: The configs of :func:`served_data`.
SERVED_CONFIGS = ("scene", "object", "state", "state_syn", "order")
#: Any non-empty key: transformers serve checks none, the OpenAI client insists on one.
LOCAL_KEY = "local-test-key"


@dataclass(frozen=True)
class Server:
    """A running ``transformers serve``: its port, its model id (the folder), its process."""

    port: int
    model: str
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status == 200 and json.loads(answer.read()).get("status") == "ok"
    except (OSError, urllib.error.URLError, ValueError):
        return False


def start_transformers_serve(model_dir: Path, log: Path) -> Server:
    """``transformers serve DIR --device cpu --host 127.0.0.1 --port P`` in its own session, once ``/health`` answers."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("transformers")),
        "serve",
        str(model_dir),
        "--device",
        "cpu",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(port):
        if process.poll() is not None:
            pytest.fail(f"transformers serve exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            stop_server(process)
            pytest.fail(
                f"transformers serve did not answer /health within {START_TIMEOUT_S:.0f} s:\n{log.read_text(errors='replace')[-3000:]}"
            )
        time.sleep(0.5)
    return Server(port=port, model=str(model_dir), process=process, log=log)


def stop_server(process: subprocess.Popen) -> None:
    """End the server's process group (its PID leads it): SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random LLaVA of ``lego-arta tiny-model`` (seed 0)."""
    return build_tiny_vlm(tmp_path_factory.mktemp("served-model") / "tiny", seed=0)


@pytest.fixture(scope="session")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``transformers serve`` of the tiny model for the whole session; stopped by PID at the end."""
    server = start_transformers_serve(tiny_model_dir, tmp_path_factory.mktemp("serve-log") / "serve.log")
    try:
        yield server
    finally:
        stop_server(server.process)


@pytest.fixture
def proxy(served: Server) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of :func:`served`, fresh (empty plan, no requests seen) per test."""
    with FaultProxy(served.port) as running:
        yield running


@pytest.fixture(scope="session")
def served_data(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: Any) -> Path:
    """A real build of the test manuals with :data:`SERVED_CONFIGS` (read-only)."""
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("served-built") / "lego-arta"
    build(replace(built_recipe, configs=SERVED_CONFIGS), out, raw=synthetic_raw, progress=False)
    return out


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch, served_data: Path) -> Path:
    """The environment a served-model run reads: a key in ``OPENAI_API_KEY``, the dataset location."""
    monkeypatch.setenv("OPENAI_API_KEY", LOCAL_KEY)
    monkeypatch.setenv(task_docs.DATA_ENV, str(served_data))
    return served_data
