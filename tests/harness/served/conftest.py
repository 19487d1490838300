"""A real OpenAI-compatible server for the served-model tests: ``transformers serve`` on 127.0.0.1.

The tiny LLaVA (``lego-arta tiny-model``'s code) is written once per session and served on CPU by
a ``transformers serve`` subprocess on a free loopback port (:mod:`lego_arta.harness.local_server`,
which the benchmark shares): it waits for ``/health``, and the fixture ends the server by its
PID. A dataset with every config the tests ask (the study's three, a synonym variant and
``order``) is built once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lego_arta.harness import task_docs
from lego_arta.harness.local_server import LocalServer, ServerStartError, start_transformers_serve
from lego_arta.models.tiny_vlm import build_tiny_vlm
from tests.support.fault_proxy import FaultProxy

#: The configs of :func:`served_data`.
SERVED_CONFIGS = ("scene", "object", "state", "state_syn", "order")
#: Any non-empty key: transformers serve checks none, the OpenAI client insists on one.
LOCAL_KEY = "local-test-key"
#: The server the tests talk to (``port``, ``model``, ``process``, ``log``, ``url``).
Server = LocalServer


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random LLaVA of ``lego-arta tiny-model`` (seed 0)."""
    return build_tiny_vlm(tmp_path_factory.mktemp("served-model") / "tiny", seed=0)


@pytest.fixture(scope="session")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``transformers serve`` of the tiny model for the whole session; stopped by PID at the end."""
    try:
        server = start_transformers_serve(tiny_model_dir, tmp_path_factory.mktemp("serve-log") / "serve.log")
    except ServerStartError as error:
        pytest.fail(str(error))
    try:
        yield server
    finally:
        server.stop()


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
