"""``lego-arta probe``: frozen-backbone probes (linear, attentive, STEP) on the state and order tasks.

Writes ``OUT/results.json`` (:mod:`lego_arta.probe.run`), ``OUT/probe.results.json`` (the
probes' task metrics as result rows, which ``lego-arta report`` reads beside VLM results), and
``OUT/probe.md`` with one PNG chart per metric (the study's rows beside ours). Imports of torch
and transformers wait until the command runs, so ``lego-arta --help`` stays fast.

    lego-arta probe --backbone facebook/dinov2-base --data out/lego-arta --task state,order --probe step --out out/probe
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lego_arta.commands.options import POSITIVE_INT, SEED, number

HELP = "linear / attentive / STEP probes of a frozen vision backbone on the state and order tasks"
GROUP = "evaluate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.probe.items import PROBE_TASKS
    from lego_arta.probe.report import CACHE_ENV

    parser.add_argument("--backbone", required=True, help="transformers vision model: Hub id (facebook/dinov2-base) or local folder")
    parser.add_argument("--data", required=True, help="built dataset folder (lego-arta build) or Hub id")
    parser.add_argument("--task", default="order", help=f"comma-separated probe tasks from {', '.join(PROBE_TASKS)} (default: order)")
    parser.add_argument("--probe", default="linear,attentive,step", help="comma-separated probes: linear, attentive, step (default: all)")
    parser.add_argument(
        "--epochs",
        type=POSITIVE_INT,
        default=None,
        help="most training epochs; the count used is chosen on held-out train manuals (default 200)",
    )
    parser.add_argument(
        "--patience",
        type=POSITIVE_INT,
        default=None,
        help="stop choosing after this many epochs without a better held-out loss (default 20)",
    )
    parser.add_argument(
        "--holdout",
        type=number(float, low=0, high=1),
        default=None,
        help="share of the train manuals held out to choose the epochs; 0 trains exactly --epochs (default 0.25)",
    )
    parser.add_argument("--lr", type=number(float, low=0, low_open=True), default=None, help="AdamW learning rate (default 1e-3)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--batch-size", type=POSITIVE_INT, default=None, help="probe minibatch size (default 32)")
    parser.add_argument("--backbone-batch", type=POSITIVE_INT, default=16, help="images per backbone forward pass")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, … (auto: cuda when available)")
    parser.add_argument(
        "--cache", type=Path, default=None, help=f"feature cache folder (default ${CACHE_ENV} or ~/.cache/lego-arta/probe-features)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for results.json and the report")


def run(args: argparse.Namespace) -> int:
    from lego_arta.atomic import atomic_write_bytes, atomic_write_text
    from lego_arta.evaluation.report import write_report
    from lego_arta.evaluation.results import write_results
    from lego_arta.probe.backbone import resolve_device
    from lego_arta.probe.curves import CHART_NAME, epochs_table, heldout_chart
    from lego_arta.probe.heads import PROBES
    from lego_arta.probe.items import PROBE_TASKS
    from lego_arta.probe.report import REPORT_STEM, RESULTS_NAME, default_cache, probe_table, result_rows
    from lego_arta.probe.run import ProbeRequest, parse_names, probe_run
    from lego_arta.probe.train import TrainSettings

    flags = ("epochs", "lr", "batch_size", "patience", "holdout")
    given = {flag: getattr(args, flag) for flag in flags if getattr(args, flag) is not None}
    request = ProbeRequest(
        backbone=args.backbone,
        data=args.data,
        tasks=parse_names(args.task, PROBE_TASKS, "probe task"),
        probes=parse_names(args.probe, PROBES, "probe"),
        settings=TrainSettings(seed=args.seed, **given),
        cache=args.cache or default_cache(),
        device=resolve_device(args.device),
        batch_size=args.backbone_batch,
    )
    document = probe_run(request)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RESULTS_NAME, json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")
    rows = result_rows(document)
    write_results(out / f"{REPORT_STEM}.results.json", rows)
    preamble = [
        f"Frozen backbone `{document['backbone']['id']}`, probes trained on the train split, scored on test.",
        "",
        *probe_table(document),
        "",
        "Epochs chosen on held-out train manuals (lowest held-out loss; the probe is then retrained on the whole train split):",
        "",
        *epochs_table(document),
    ]
    chart = heldout_chart(document)
    if chart is not None:
        atomic_write_bytes(out / CHART_NAME, chart)
        preamble += ["", f"![held-out loss by epoch]({CHART_NAME})"]
    written = write_report(rows, out, stem=REPORT_STEM, title="LEGO-ARTA probes", preamble=preamble)
    console = Console(soft_wrap=True)
    table = Table(title=f"probes on {escape(document['backbone']['id'])}")
    for column in ("task", "probe", "accuracy", "reversed", "flip rate", "epochs", "parameters"):
        table.add_column(column)
    for r in document["results"]:
        table.add_row(
            r["task"],
            r["probe"],
            f"{r['accuracy']:.1f}",
            f"{r['accuracy_reversed']:.1f}",
            f"{r['flip_rate']:.1f}",
            f"{r['epochs']['chosen']} of {r['epochs']['max']}",
            f"{r['trainable_parameters']:,}",
        )
    console.print(table)
    run = document["run"]
    console.print(
        f"features: {run['cache']['encoded']} images encoded, {run['cache']['cached']} from the cache {escape(run['cache']['folder'])}",
        highlight=False,
    )
    console.print(f"wrote {escape(str(out / RESULTS_NAME))}, {escape(str(written[0]))} and {len(written) - 1} charts", highlight=False)
    return 0
