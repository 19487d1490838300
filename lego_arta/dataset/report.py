"""Terminal summary of a build: pairs per config and split next to the study's, and the skips."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from lego_arta.dataset.pipeline import BuildResult
from lego_arta.study import study_statistics


def build_table(result: BuildResult) -> Table:
    study = study_statistics()
    title = f"LEGO-ARTA build in {result.out}"
    # At least as wide as its title: rich cuts a title to the table's width, and the path must show whole.
    table = Table(title=escape(title), min_width=len(title) + 4, caption_justify="left")
    for column in ("config", "train", "test", "all pairs", "units", "study pairs", "ratio"):
        table.add_column(column, justify="left" if column == "config" else "right")
    units = result.manifest.get("units", {})
    for config, counts in result.counts.items():
        total = sum(counts.values())
        reference = study.get((config, "vqa_pairs"))  # a task the study did not have gives none
        table.add_row(
            escape(config),
            f"{counts.get('train', 0):,}",
            f"{counts.get('test', 0):,}",
            f"{total:,}",
            f"{units.get(config, 0):,}",
            "–" if reference is None else f"{reference:,.0f}",
            "–" if reference is None else f"{total / reference:.2f}",
        )
    for config, splits in sorted(result.absent.items()):
        table.add_row(
            escape(config), *("absent" if split in splits else "–" for split in ("train", "test")), "left out", "", "", "", style="yellow"
        )
    skipped = sum(result.skips.values())
    table.caption = f"{skipped:,} items skipped" + "".join(f"\n  {n:,} × {escape(reason)}" for reason, n in sorted(result.skips.items()))
    return table


def run_line(stats: dict[str, Any]) -> str:
    """What a build cost, in one line: wall, per pair, the PNG-encode ratio and the workers' peak memory.

    >>> run_line({"pairs": 100, "wall_s": 2.0, "executor": "local", "workers": 2, "ms_per_pair_per_worker": 40.0,
    ...           "encode_ms_per_image": 10.0, "encodes": 90, "encode_ratio": 4.0, "peak_rss_mib_max": 512.0})
    '100 pairs in 2.0 s (local, 2 workers): 40.0 ms per pair per worker = 4.00 x one PNG encode (10.0 ms, 90 encodes); peak RSS per worker <= 512 MiB'
    >>> run_line({"pairs": 100, "wall_s": 2.0, "executor": "local", "workers": 2, "ms_per_pair_per_worker": 40.0,
    ...           "encode_ms_per_image": 10.0, "encodes": 90, "encode_ratio": 4.0, "peak_rss_mib_max": 512.0,
    ...           "all_cpu_ratio": 3.5, "cpu_shares": {"encode": 0.25, "decode": 0.1, "other": 0.65}}).partition("encodes); ")[2]
    'CPU: 3.50 x, 25 % encode, 10 % decode; peak RSS per worker <= 512 MiB'
    """
    if not stats.get("pairs"):
        return "no pairs"
    ratio = stats.get("encode_ratio")
    shown = f"{ratio:.2f} x one PNG encode" if ratio is not None else "no PNG encoded"
    return (
        f"{stats['pairs']:,} pairs in {stats['wall_s']:.1f} s ({stats['executor']}, {stats['workers']} workers): "
        f"{stats['ms_per_pair_per_worker']:.1f} ms per pair per worker = {shown} "
        f"({stats['encode_ms_per_image']:.1f} ms, {stats['encodes']:,} encodes); {_cpu_part(stats)}{_driver_part(stats)}"
        f"peak RSS per worker <= {stats['peak_rss_mib_max']:,.0f} MiB"
    )


def _driver_part(stats: dict[str, Any]) -> str:
    """The driver's load: what it received of the output's bytes, and its share of the CPU.

    >>> _driver_part({"driver_received_share": 0.0042, "driver_cpu_share": 0.021})
    'driver: 0.42 % of the output received, 2.1 % of the CPU; '
    """
    if stats.get("driver_received_share") is None or stats.get("driver_cpu_share") is None:
        return ""
    return (
        f"driver: {100 * stats['driver_received_share']:.2f} % of the output received, {100 * stats['driver_cpu_share']:.1f} % of the CPU; "
    )


def _cpu_part(stats: dict[str, Any]) -> str:
    if stats.get("all_cpu_ratio") is None or not stats.get("cpu_shares"):
        return ""
    shares = stats["cpu_shares"]
    return f"CPU: {stats['all_cpu_ratio']:.2f} x, {100 * shares['encode']:.0f} % encode, {100 * shares['decode']:.0f} % decode; "
