"""A build's run facts (``lego-arta build --stats``) account for its work: the codec work it did,
every CPU second of it (the vote jobs or the pair jobs that vote, and the driver), and never enter the build."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lego_arta.cli import main
from lego_arta.dataset.pipeline import build
from tests.support.folders import folder_files


def _embedded_images(folder: Path) -> list[bytes]:
    found = []
    for shard in sorted(folder.rglob("*.parquet")):
        table = pq.read_table(shard)
        for name in table.column_names:
            if name == "image" or name.endswith("image"):
                found += [cell["bytes"] for cell in table.column(name).to_pylist() if cell]
    return found


def test_two_workers_report_their_codec_work_and_every_cpu_second(
    built_recipe, synthetic_raw: Path, built_dataset: Path, tmp_path: Path
) -> None:
    result = build(built_recipe, tmp_path / "built", raw=synthetic_raw, workers=2, progress=False)
    stats = result.stats
    assert folder_files(result.out) == folder_files(built_dataset)  # run facts differ between runs, the build does not

    embedded = _embedded_images(result.out)
    raw = {path.read_bytes() for path in synthetic_raw.rglob("*.png")}
    assert stats["pairs"] == sum(sum(c.values()) for c in result.counts.values())
    # Every embedded image that is not a raw file's own bytes was encoded by the build, and every
    # raw file embedded as it is was decoded (to vote, to check it, to make other pairs of it).
    assert 0 < len({image for image in embedded if image not in raw}) <= stats["encodes"]
    assert len({image for image in embedded if image in raw}) <= stats["decodes"]
    assert stats["encode_cpu_ms_per_image"] > 0 and stats["decode_cpu_ms_per_image"] > 0

    shares = stats["cpu_shares"]
    assert set(shares) == {"encode", "decode", "other"} and all(0 < v < 1 for v in shares.values())
    assert abs(sum(shares.values()) - 1) < 0.005
    # The quick-start recipe's tasks all have both splits: the pair jobs vote, no vote job runs.
    assert stats["vote_cpu_s"] == 0 and stats["driver_cpu_s"] > 0
    floor = stats["pairs"] * stats["encode_cpu_ms_per_image"] / 1000
    # (the summary's figures are rounded to 3 decimals, so the sum is checked to that)
    assert stats["all_cpu_ratio"] == pytest.approx((stats["worker_cpu_s"] + stats["driver_cpu_s"]) / floor, rel=2e-3)
    assert stats["all_cpu_ratio"] > stats["encode_cpu_ratio"] > 0
    assert len(stats["peak_rss_mib_per_worker"]) >= 2  # the jobs ran in worker processes, not here


def test_a_build_that_splits_first_counts_its_vote_jobs(built_recipe, synthetic_raw: Path, tmp_path: Path) -> None:
    """An evaluation-only config needs each manual's split before its pairs: the votes run as jobs of their own, and count."""
    from dataclasses import replace

    stats = build(
        replace(built_recipe, configs=("state", "state_syn")), tmp_path / "built", raw=synthetic_raw, workers=2, progress=False
    ).stats
    assert stats["vote_cpu_s"] > 0 and stats["driver_cpu_s"] >= 0
    floor = stats["pairs"] * stats["encode_cpu_ms_per_image"] / 1000
    assert stats["all_cpu_ratio"] == pytest.approx((stats["worker_cpu_s"] + stats["vote_cpu_s"] + stats["driver_cpu_s"]) / floor, rel=2e-3)
    assert stats["decodes"] > 0 and stats["cpu_shares"]["decode"] > 0
    # The vote jobs read the pages themselves and hand back votes, not parsed pages (which made it 2.7 %).
    assert 0 < stats["driver_received_bytes"] < 0.01 * stats["output_bytes"]


def test_one_worker_does_not_count_its_jobs_as_the_driver_s(built_recipe, synthetic_raw: Path, tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    assert (
        main(
            [
                "build",
                "builders/quickstart.yaml",
                "--raw",
                str(synthetic_raw),
                "--out",
                str(tmp_path / "built"),
                "--workers",
                "1",
                "--stats",
                str(stats_file),
            ]
        )
        == 0
    )
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    jobs = stats["worker_cpu_s"] + stats["vote_cpu_s"]
    # In one process the jobs are most of the work; the driver's own share is reading and writing.
    assert 0 <= stats["driver_cpu_s"] < jobs
    # Both sides are rounded to 3 decimals from inputs rounded to 3 decimals: equal to within one in the last place.
    assert stats["all_cpu_ratio"] == pytest.approx(
        (jobs + stats["driver_cpu_s"]) / (stats["pairs"] * stats["encode_cpu_ms_per_image"] / 1000), abs=1e-3
    )
    assert list(stats["peak_rss_mib_per_worker"]) == [list(stats["peak_rss_mib_per_worker"])[0]]
