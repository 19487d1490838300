"""Terminal summary of a build: pairs per config and split next to the study's, and the skips."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from lego_arta.dataset.pipeline import BuildResult
from lego_arta.study import study_statistics


def build_table(result: BuildResult) -> Table:
    study = study_statistics()
    table = Table(title=f"LEGO-ARTA build in {escape(str(result.out))}")
    for column in ("config", "train", "test", "all pairs", "units", "study pairs", "ratio"):
        table.add_column(column, justify="left" if column == "config" else "right")
    units = result.manifest.get("units", {})
    for config, counts in result.counts.items():
        total = sum(counts.values())
        reference = study.get((config, "vqa_pairs"))  # a task the study did not have gives none
        table.add_row(escape(config), f"{counts.get('train', 0):,}", f"{counts.get('test', 0):,}", f"{total:,}", f"{units.get(config, 0):,}",
                      "–" if reference is None else f"{reference:,.0f}", "–" if reference is None else f"{total / reference:.2f}")
    for config, splits in sorted(result.absent.items()):
        table.add_row(escape(config), *("absent" if split in splits else "–" for split in ("train", "test")),
                      "left out", "", "", "", style="yellow")  # fmt: skip
    skipped = sum(result.skips.values())
    table.caption = f"{skipped:,} items skipped" + "".join(f"\n  {n:,} × {escape(reason)}" for reason, n in sorted(result.skips.items()))
    return table
