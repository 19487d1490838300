"""Shared, generated fixtures, made once per test session (per worker): small synthetic raw manuals
and a real build of them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lego_arta.source.synth.generator import SynthConfig, synthesize

if TYPE_CHECKING:  # the build imports datasets (seconds): only sessions that build pay for it
    from lego_arta.dataset.pipeline import BuildResult
    from lego_arta.dataset.recipe import BuildRecipe

#: Small images keep the suite fast; every algorithm scales with image size.
TEST_WIDTH = 384
TEST_HEIGHT = 178
TEST_MANUALS = 4


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
def built_dataset_result(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: BuildRecipe) -> BuildResult:
    """What the build of :func:`built_dataset` returned (its run stats among it), for a test that would
    otherwise build the same recipe on the same manuals again, one worker, only to read them."""
    from lego_arta.dataset.pipeline import build

    return build(built_recipe, tmp_path_factory.mktemp("built") / "lego-arta", raw=synthetic_raw, progress=False, workers=1)


@pytest.fixture(scope="session")
def built_dataset(built_dataset_result: BuildResult) -> Path:
    """A real ``lego-arta build`` of :func:`synthetic_raw` (Hub layout, LLaVA, manifest); read-only."""
    return built_dataset_result.out


@pytest.fixture(scope="session")
def guide_data(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe: BuildRecipe) -> Path:
    """A real build of :func:`synthetic_raw` with the ``guide`` config only (it is not in the default build); read-only."""
    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("guide-built") / "lego-arta"
    build(replace(built_recipe, configs=("guide",)), out, raw=synthetic_raw, progress=False)
    return out


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 180.0, host: str = "127.0.0.1") -> None:
    """Return once something listens on ``host:port`` (loopback); fail if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = Path(getattr(process, "log_path", ""))
            said = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.is_file() else ""
            pytest.fail(f"the Ray head exited with {process.returncode} before listening on port {port}:\n{said}")
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"the Ray head did not listen on port {port} within {timeout:.0f} s")


#: How long a node's ``ray start`` may take to end its processes after SIGTERM, before SIGKILL
#: (``ray stop``'s own grace period is 16 s; Ray's GCS can take 30 s to end gracefully).
RAY_STOP_TIMEOUT = 16.0
#: Ray's agents, one port each, fixed up front (see :func:`ray_address`).
_RAY_AGENT_FLAGS = (
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--runtime-env-agent-port",
    "--metrics-export-port",
    "--node-manager-port",
)


def _ray_temp() -> Path:
    """A short temporary folder for one Ray node: its sockets live below it, and a Unix socket path
    may not exceed 107 bytes (pytest's own folders, under xdist's per-worker ones, are too deep)."""
    folder = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    _RAY_TEMPS.append(folder)
    return folder


#: The folders :func:`_ray_temp` made, removed when the session ends.
_RAY_TEMPS: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _remove_ray_temps() -> Iterator[None]:
    yield
    for folder in _RAY_TEMPS:
        shutil.rmtree(folder, ignore_errors=True)


def _ray_start(role: list[str], temp: Path, ip: str = "127.0.0.1", env: dict[str, str] | None = None) -> subprocess.Popen:
    """``ray start --block <role>``, one node at ``ip``, in its own process group (see :func:`ray_address`)."""
    agents = [f"{flag}={port}" for flag, port in zip(_RAY_AGENT_FLAGS, _free_ports(len(_RAY_AGENT_FLAGS)), strict=True)]
    command = [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--block",
        *role,
        f"--node-ip-address={ip}",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
        *agents,
    ]
    log_path = temp / "ray-start.log"  # what ray start said, shown when a node fails to start
    with log_path.open("wb") as log:
        node = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "RAY_AUTH_MODE": "disabled", **(env or {})},
        )
    node.log_path = log_path  # type: ignore[attr-defined]
    return node


def _ray_stop(nodes: list[subprocess.Popen]) -> None:
    """End each node's process group (the ones :func:`_ray_start` made; nothing else): SIGTERM to
    all, then SIGKILL to those whose ``ray start`` has not ended its processes in time."""
    for node in nodes:
        with contextlib.suppress(ProcessLookupError):  # a group that already ended (a node that failed to start)
            os.killpg(node.pid, signal.SIGTERM)
    deadline = time.monotonic() + RAY_STOP_TIMEOUT
    for node in nodes:
        try:
            node.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(node.pid, signal.SIGKILL)
            node.wait()


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """A local Ray head on loopback (2 CPUs, no dashboard) for the session; its address.

    Started with ``ray start --head --block`` in its own process group, which is ended at the end
    (nothing else is touched). Every agent port is fixed up front: with ports left to the agents,
    the raylet waits a hard-coded 15 s for them to write their port files, and on a loaded machine
    it gives up (ray-project/ray#65983). ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps the head and
    this driver on loopback (Ray otherwise swaps 127.0.0.1 for the machine's address).
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    pytest.importorskip("ray")
    (port,) = _free_ports(1)
    head = _ray_start(["--head", "--num-cpus=2", "--include-dashboard=false", f"--port={port}"], _ray_temp())
    try:
        _wait_for_port(port, head)
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        ray.shutdown()
        _ray_stop([head])


#: How long the worker node of :func:`ray_two_nodes` may take to join the head.
RAY_JOIN_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def ray_two_nodes() -> Iterator[str]:
    """A Ray cluster of two nodes on loopback: a head and a worker node, 1 CPU each; its address.

    Each node is its own ``ray start`` (its own raylet, object store, ports and temp folder) in
    its own process group, at its own loopback address (127.0.0.2 and 127.0.0.3), as on two
    machines except that both share this host's cores. Not 127.0.0.1: ``ray start --address``
    swaps that for the machine's address, where the head does not listen, and joining a head
    needs ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` on (the worker node's environment only). The
    driver is connected (leaving any other cluster first: a driver joins one at a time) once
    ``ray.nodes()`` shows both nodes alive; it is disconnected and both nodes ended at the end.
    """
    if sys.platform != "linux":
        pytest.skip("Ray supports clusters of several nodes on Linux only")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray = pytest.importorskip("ray")
    (port,) = _free_ports(1)
    address = f"127.0.0.2:{port}"
    nodes = [_ray_start(["--head", "--num-cpus=1", "--include-dashboard=false", f"--port={port}"], _ray_temp(), ip="127.0.0.2")]
    try:
        _wait_for_port(port, nodes[0], host="127.0.0.2")
        nodes.append(
            _ray_start(
                [f"--address={address}", "--num-cpus=1"], _ray_temp(), ip="127.0.0.3", env={"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
            )
        )
        ray.shutdown()
        ray.init(address=address, log_to_driver=False)
        deadline = time.monotonic() + RAY_JOIN_TIMEOUT
        while sum(node["Alive"] for node in ray.nodes()) < 2:
            if nodes[1].poll() is not None:
                pytest.fail(f"the Ray worker node exited with {nodes[1].returncode} before joining the head")
            if time.monotonic() > deadline:
                pytest.fail(f"the Ray worker node did not join the head within {RAY_JOIN_TIMEOUT:.0f} s")
            time.sleep(0.5)
        yield address
    finally:
        ray.shutdown()
        _ray_stop(nodes)
