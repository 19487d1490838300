"""Shared, generated fixtures, made once per test session (per worker): small synthetic raw manuals
and a real build of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lego_arta.source.synth.generator import SynthConfig, synthesize

if TYPE_CHECKING:  # the build imports datasets (seconds): only sessions that build pay for it
    from lego_arta.dataset.recipe import BuildRecipe

#: Small images keep the suite fast; every algorithm scales with image size.
TEST_WIDTH = 384
TEST_HEIGHT = 178
TEST_MANUALS = 4


@pytest.fixture(scope="session", autouse=True)
def _offline_hf(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing may be fetched from the Hub: point every cache at a temporary folder, offline."""
    home = tmp_path_factory.mktemp("hf_home")
    os.environ.setdefault("HF_HOME", str(home))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def synth_config() -> SynthConfig:
    return SynthConfig(manuals=TEST_MANUALS, seed=7, width=TEST_WIDTH, height=TEST_HEIGHT)


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory, synth_config: SynthConfig) -> Path:
    """A folder of small synthetic raw manuals (read-only for tests: copy before changing it)."""
    out = tmp_path_factory.mktemp("raw") / "manuals"
    synthesize(out, synth_config, workers=1, progress=False)
    return out


#: The quick-start recipe, at the test image size (collages as small as the source images).
QUICKSTART_RECIPE = Path(__file__).resolve().parents[1] / "builders" / "quickstart.yaml"


@pytest.fixture(scope="session")
def built_recipe() -> BuildRecipe:
    """The recipe of :func:`built_dataset`: ``builders/quickstart.yaml`` with test-sized collages."""
    from lego_arta.dataset.recipe import load_recipe

    return replace(load_recipe(QUICKSTART_RECIPE), collage_width=TEST_WIDTH, collage_height=TEST_HEIGHT)


@pytest.fixture(scope="session")
def built_dataset(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: BuildRecipe) -> Path:
    """A real ``lego-arta build`` of :func:`synthetic_raw` (Hub layout, LLaVA, manifest); read-only."""
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("built") / "lego-arta"
    build(built_recipe, out, raw=synthetic_raw, progress=False)
    return out


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 180.0) -> None:
    """Return once something listens on ``port`` of loopback; fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Ray head exited with {process.returncode} before listening on port {port}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"the Ray head did not listen on port {port} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray head on loopback (2 CPUs, no dashboard) for the session; its address.

    Started with ``ray start --head --block`` in its own process group, which is ended at the end
    (nothing else is touched). Every agent port is fixed up front: with ports left to the agents,
    the raylet waits a hard-coded 15 s for them to write their port files, and on a loaded machine
    it gives up (ray-project/ray#65983). ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps the head and
    this driver on loopback (Ray otherwise swaps 127.0.0.1 for the machine's address).
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    pytest.importorskip("ray")
    port, *agents = _free_ports(6)
    temp = tmp_path_factory.mktemp("ray")
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--num-cpus=2", "--include-dashboard=false",
        "--node-ip-address=127.0.0.1", f"--port={port}", "--disable-usage-stats", f"--temp-dir={temp}",
        f"--dashboard-agent-listen-port={agents[0]}", f"--dashboard-agent-grpc-port={agents[1]}",
        f"--runtime-env-agent-port={agents[2]}", f"--metrics-export-port={agents[3]}", f"--node-manager-port={agents[4]}",
    ]  # fmt: skip
    head = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "RAY_AUTH_MODE": "disabled"})  # fmt: skip
    try:
        _wait_for_port(port, head)
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        ray.shutdown()
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
