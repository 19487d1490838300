"""A local OpenAI-compatible server: ``transformers serve`` of a model folder on 127.0.0.1.

The served-model tests and ``benchmarks/bench_served.py`` both need a real server for the tiny
LLaVA: started on a free loopback port in its own process group, ready once ``/health`` answers,
and ended by its PID (never by name: other people's servers match any name). A failed start
raises :class:`ServerStartError` with the tail of the server's log.

>>> port = free_port(); 1024 < port < 65536 and not healthy(port)
True
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
from dataclasses import dataclass
from pathlib import Path

#: How long ``transformers serve`` may take to answer ``/health`` (importing torch and FastAPI on a loaded machine).
START_TIMEOUT_S = 300.0
#: How long a server may take to end after SIGTERM before it gets SIGKILL.
STOP_TIMEOUT_S = 20.0


class ServerStartError(RuntimeError):
    """The server exited or stayed silent on ``/health``; the message holds the end of its log."""


@dataclass(frozen=True)
class LocalServer:
    """A running ``transformers serve``: its port, its model id (the folder), its process, its log."""

    port: int
    model: str
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        """The OpenAI base URL (``…/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        """End the server's process group (see :func:`stop_process`)."""
        stop_process(self.process)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    """Whether ``GET /health`` on the port answers ``{"status": "ok"}``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return answer.status == 200 and json.loads(answer.read()).get("status") == "ok"
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.is_file() else ""


def start_transformers_serve(model_dir: Path, log: Path, *, timeout_s: float = START_TIMEOUT_S) -> LocalServer:
    """``transformers serve DIR --device cpu --host 127.0.0.1 --port P`` in its own session, returned once ``/health`` answers."""
    port = free_port()
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
    deadline = time.monotonic() + timeout_s
    while not healthy(port):
        if process.poll() is not None:
            raise ServerStartError(f"transformers serve exited with {process.returncode} ({log}):\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            stop_process(process)
            raise ServerStartError(f"transformers serve did not answer /health within {timeout_s:.0f} s ({log}):\n{_log_tail(log)}")
        time.sleep(0.5)
    return LocalServer(port=port, model=str(model_dir), process=process, log=log)


def stop_process(process: subprocess.Popen, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """End a process started with ``start_new_session`` and its group (its PID leads it): SIGTERM, then SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
