"""``lego-arta converse``: a task asked turn by turn, with the model's own earlier answers as the conversation.

``lego-arta eval`` runs such a task through lmms-eval with the gold history (each turn sees the true
earlier turns). This verb runs its own-history mode (the task's
:attr:`~lego_arta.tasks.spec.TaskSpec.own_history`): one conversation per episode, the model's
answers fed back, ending where the task says (guide: at the first wrong verdict). The model is a
served OpenAI-compatible chat endpoint (``--base-url`` and ``--model``; a key, if the server wants
one, only from the ``OPENAI_API_KEY`` environment variable, never on the command line) or, without
``--base-url``, a local image-text-to-text model folder run in-process. It writes the predictions
(``lego-arta score`` reads them) and scores them: ``OUT/<name>-<task>.predictions.jsonl``,
``.results.json`` (setting and ``mode``: ``own_history``) and ``.samples.jsonl``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import POSITIVE_INT, add_interval_arguments

HELP = "ask a turn-by-turn task (guide) with the model's own answers as the history, then score it"
GROUP = "evaluate"
#: The environment variable an endpoint's key is read from.
KEY_ENV = "OPENAI_API_KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.evaluation.scoring import DEFAULT_SPLIT
    from lego_arta.tasks import TASKS, get_task

    turned = [name for name in TASKS if get_task(name).own_history is not None]
    parser.add_argument("--data", required=True, help="built dataset folder (Hub layout) holding the task's config")
    parser.add_argument("--task", default=turned[0] if turned else None, choices=turned, help="default: %(default)s")
    parser.add_argument(
        "--model", required=True, help="the served model's name (with --base-url), else a local image-text-to-text model folder"
    )
    parser.add_argument(
        "--base-url", default=None, help=f"OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (key from ${KEY_ENV}, if set)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the predictions, results and per-sample log")
    parser.add_argument("--name", default=None, help="system name in results and reports (default: the model's folder or name)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default: %(default)s")
    parser.add_argument("--limit", type=POSITIVE_INT, default=None, help="first N episodes only (smoke runs); scored on their rows")
    parser.add_argument("--max-new-tokens", type=POSITIVE_INT, default=64, help="longest answer per turn (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device of an in-process model (default: %(default)s)")
    add_interval_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the conversations, write the predictions, score them and print the table."""
    from lego_arta.atomic import atomic_write_text, name_part
    from lego_arta.evaluation.results import write_results
    from lego_arta.evaluation.scoring import score_predictions, score_table, write_sample_log
    from lego_arta.harness.conversation import hf_chat, openai_chat, own_history_of, run_own_history

    console = Console(soft_wrap=True)
    if args.task is None:
        console.print("error: no task declares an own-history mode", style="red")
        return 2
    mode = own_history_of(args.task).mode
    if args.base_url is not None:
        respond = openai_chat(args.base_url, args.model, api_key_env=KEY_ENV, max_tokens=args.max_new_tokens)
    else:
        respond = hf_chat(args.model, max_new_tokens=args.max_new_tokens, device=args.device)
    name = args.name or Path(str(args.model).rstrip("/")).name
    stem = Path(args.out) / f"{name_part(name)}-{args.task}"
    predictions = run_own_history(args.data, args.task, respond, Path(f"{stem}.predictions.jsonl"), split=args.split, limit=args.limit)
    ids = None
    if args.limit is not None:
        import json

        ids = Path(f"{stem}.ids.txt")
        atomic_write_text(ids, "".join(json.loads(line)["id"] + "\n" for line in predictions.read_text(encoding="utf-8").splitlines()))
    result = score_predictions(
        args.task, predictions, args.data, split=args.split, n_resamples=args.resamples, seed=args.seed, alpha=args.alpha, ids=ids
    )
    console.print(score_table(result, f"{name}: {args.task} ({args.split}, {result.n_rows} rows, {mode})"))
    where = {"base_url": args.base_url} if args.base_url is not None else {"model_dir": str(args.model)}
    summary = result.run_summary(
        name, mode, mode=mode, predictions=predictions.name, data=str(args.data), **where, **({"ids": ids.name} if ids else {})
    )
    write_results(Path(f"{stem}.results.json"), result.rows(name, mode), [summary])
    write_sample_log(Path(f"{stem}.samples.jsonl"), result)
    console.print(f"wrote {escape(str(stem))}.predictions.jsonl, .results.json and .samples.jsonl", highlight=False)
    return 0
