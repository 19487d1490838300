"""The per-manual work on Ray gives the same bytes as local processes: synthesis and the build.

A local Ray head on loopback (tests/conftest.py ``ray_address``, 2 CPUs) runs the jobs in its own
worker processes; the files are compared with the shared fixtures, which ran in this process.
A cluster of two nodes on loopback (``ray_two_nodes``: a head and a worker node, each its own
``ray start``) shows the ``--ray-address`` path on more than one node: tasks run on both, and
the build's bytes are the local build's.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lego_arta.executor import RayExecutor
from tests.support.folders import folder_files


@pytest.mark.slow
def test_ray_synthesis_and_build_are_byte_identical_to_local(
    ray_address: str, synth_config, synthetic_raw: Path, built_recipe, built_dataset: Path, tmp_path: Path
) -> None:
    from lego_arta.dataset.pipeline import build
    from lego_arta.source.synth.generator import synthesize

    executor = RayExecutor(workers=2, address=ray_address)
    synthesize(tmp_path / "raw", synth_config, progress=False, executor=executor)
    local_raw, ray_raw = folder_files(synthetic_raw), folder_files(tmp_path / "raw")
    assert sorted(ray_raw) == sorted(local_raw)
    assert [name for name in local_raw if local_raw[name] != ray_raw[name]] == []

    result = build(built_recipe, tmp_path / "built", raw=synthetic_raw, progress=False, executor=executor)
    local_build, ray_build = folder_files(built_dataset), folder_files(result.out)
    assert sorted(ray_build) == sorted(local_build)
    assert [name for name in local_build if local_build[name] != ray_build[name]] == []
    assert result.stats["executor"] == "ray" and result.stats["manuals"] == len(result.manifest["manuals"])


def _node_after(seconds: float) -> str:
    """The id of the Ray node this task ran on, after holding its CPU ``seconds`` (so tasks overlap)."""
    import ray

    time.sleep(seconds)
    return ray.get_runtime_context().get_node_id()


@pytest.mark.slow
def test_ray_tasks_run_on_both_nodes_of_a_two_node_cluster(ray_two_nodes: str) -> None:
    import ray

    executor = RayExecutor(workers=2, address=ray_two_nodes)
    ran_on = list(executor.map(_node_after, [1.0] * 4))
    alive = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(alive) == 2
    assert set(ran_on) == alive


@pytest.mark.slow
def test_two_node_ray_build_is_byte_identical_to_local(
    ray_two_nodes: str, built_recipe, synthetic_raw: Path, built_dataset: Path, tmp_path: Path
) -> None:
    from lego_arta.dataset.pipeline import build

    result = build(
        built_recipe, tmp_path / "built", raw=synthetic_raw, progress=False, executor=RayExecutor(workers=2, address=ray_two_nodes)
    )
    local_build, ray_build = folder_files(built_dataset), folder_files(result.out)
    assert sorted(ray_build) == sorted(local_build)
    assert [name for name in local_build if local_build[name] != ray_build[name]] == []
    assert result.stats["executor"] == "ray"
    # The workers read the pages and wrote the rows; the driver received records and votes only.
    stats = result.stats
    print(
        f"two-node build: driver received {stats['driver_received_bytes']:,} of {stats['output_bytes']:,} bytes "
        f"({stats['driver_received_share']:.3%}); driver CPU {stats['driver_cpu_s']:.2f} s = {stats['driver_cpu_share']:.2%}"
    )
    # Issue 27's target. The fixture's 384x178 images make its rows about 7x smaller than the
    # study's, so this is the harder case for the share.
    assert stats["driver_received_share"] < 0.01
    assert stats["driver_cpu_share"] < 0.05


@pytest.mark.slow
def test_ray_executor_joins_the_cluster_it_is_given(ray_address: str, ray_two_nodes: str) -> None:
    """A driver joins one cluster at a time: an executor for another address leaves the first."""
    import ray

    one = set(RayExecutor(address=ray_address).map(_node_after, [0.0]))
    assert len(ray.nodes()) == 1 and one == {ray.nodes()[0]["NodeID"]}
    two = set(RayExecutor(workers=2, address=ray_two_nodes).map(_node_after, [0.5] * 4))
    assert {node["NodeID"] for node in ray.nodes()} == two and not two & one
    assert set(RayExecutor(address=ray_address).map(_node_after, [0.0])) == one
