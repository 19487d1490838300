"""``lego-arta converse``: a task asked turn by turn, with the model's own earlier answers as the conversation.

``lego-arta eval`` runs such a task through lmms-eval with the gold history (each turn sees the true
earlier turns). This verb runs its own-history mode (the task's
:attr:`~lego_arta.tasks.spec.TaskSpec.own_history`): one conversation per episode, the model's
answers fed back, ending where the task says (guide: at the first wrong verdict). The model is a
served OpenAI-compatible chat endpoint (``--base-url`` and ``--model``; a key, if the server wants
one, only from an environment variable, ``OPENAI_API_KEY`` unless ``--api-key-env`` names another,
never on the command line) or, without ``--base-url``, a local image-text-to-text model folder run
in-process. It writes the predictions (``lego-arta score`` reads them) and scores them:
``OUT/<name>-<task>.predictions.jsonl``, ``.results.json`` (setting and ``mode``: ``own_history``)
and ``.samples.jsonl``.

Against an endpoint, a run is fit to pay for: each turn is retried as the served model's requests
are (``--max-attempts``, ``--backoff-s``, ``--max-wait-s``: the ``max_attempts``, ``backoff_s`` and
``max_wait_s`` of ``--model lego_arta_openai``), and every answered turn is journalled in
``OUT/<name>-<task>.requests.jsonl`` as it arrives, so the same command run again after a crash or
a kill asks only the turns not yet answered and writes the same predictions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import POSITIVE_INT, SECONDS, add_interval_arguments, number

HELP = "ask a turn-by-turn task (guide) with the model's own answers as the history, then score it"
GROUP = "evaluate"
#: The environment variable an endpoint's key is read from.
KEY_ENV = "OPENAI_API_KEY"
#: A wait in seconds that may be zero (no backoff), at most a day.
WAIT = number(float, low=0, high=86_400)


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
        "--base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (key from --api-key-env, if set)"
    )
    parser.add_argument("--api-key-env", default=KEY_ENV, help="environment variable holding the endpoint's key (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the predictions, results and per-sample log")
    parser.add_argument("--name", default=None, help="system name in results and reports (default: the model's folder or name)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="default: %(default)s")
    parser.add_argument("--limit", type=POSITIVE_INT, default=None, help="first N episodes only (smoke runs); scored on their rows")
    parser.add_argument("--max-new-tokens", type=POSITIVE_INT, default=64, help="longest answer per turn (default: %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device of an in-process model (default: %(default)s)")
    retry = parser.add_argument_group("retries against an endpoint (as --model lego_arta_openai's model args)")
    retry.add_argument("--max-attempts", type=POSITIVE_INT, default=6, help="tries per turn, the first included (default: %(default)s)")
    retry.add_argument(
        "--backoff-s", type=WAIT, default=1.0, help="first backoff wait, doubled per attempt, jittered, at most 60 s (default: %(default)s)"
    )
    retry.add_argument("--max-wait-s", type=WAIT, default=300.0, help="longest Retry-After wait obeyed (default: %(default)s)")
    retry.add_argument("--timeout", type=SECONDS, default=600.0, help="seconds per request (default: %(default)s)")
    add_interval_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Run the conversations, write the predictions, score them and print the table."""
    from lego_arta.atomic import atomic_write_text, name_part
    from lego_arta.evaluation.results import write_results
    from lego_arta.evaluation.scoring import score_predictions, score_table, write_sample_log
    from lego_arta.harness.api_retry import RetryPolicy
    from lego_arta.harness.api_usage import Usage, usage_lines
    from lego_arta.harness.conversation import JOURNAL_SUFFIX, hf_chat, openai_chat, own_history_of, run_own_history
    from lego_arta.harness.request_journal import RequestJournal

    if args.task is None:
        raise ValueError("converse: no task declares an own-history mode (TaskSpec.own_history)")
    console = Console(soft_wrap=True)
    mode = own_history_of(args.task).mode
    name = args.name or Path(str(args.model).rstrip("/")).name
    stem = Path(args.out) / f"{name_part(name)}-{args.task}"
    usage, journal = Usage(), None
    if args.base_url is not None:
        journal = RequestJournal(Path(f"{stem}{JOURNAL_SUFFIX}"))
        policy = RetryPolicy(max_attempts=args.max_attempts, base_s=args.backoff_s, max_wait_s=args.max_wait_s)
        respond = openai_chat(
            args.base_url,
            args.model,
            api_key_env=args.api_key_env,
            max_tokens=args.max_new_tokens,
            timeout=args.timeout,
            policy=policy,
            journal=journal,
            usage=usage,
            task=args.task,
        )
    else:
        respond = hf_chat(args.model, max_new_tokens=args.max_new_tokens, device=args.device)
    started = time.monotonic()
    try:
        predictions = run_own_history(args.data, args.task, respond, Path(f"{stem}.predictions.jsonl"), split=args.split, limit=args.limit)
    except OSError as error:
        if journal is None or not len(journal):
            raise
        raise OSError(
            f"{error}; {len(journal)} answered turns are journalled in {journal.path}: run the same command again to ask only the rest"
        ) from error
    usage.seconds = round(time.monotonic() - started, 3)
    ids = None
    if args.limit is not None:
        ids = Path(f"{stem}.ids.txt")
        atomic_write_text(ids, "".join(json.loads(line)["id"] + "\n" for line in predictions.read_text(encoding="utf-8").splitlines()))
    result = score_predictions(
        args.task, predictions, args.data, split=args.split, n_resamples=args.resamples, seed=args.seed, alpha=args.alpha, ids=ids
    )
    console.print(score_table(result, f"{name}: {args.task} ({args.split}, {result.n_rows} rows, {mode})"))
    where = {"base_url": args.base_url} if args.base_url is not None else {"model_dir": str(args.model)}
    if journal is not None:
        where["usage"] = {"this_run": usage.to_dict(), "total": journal.total()}
        for line in usage_lines(where["usage"]):
            console.print(escape(line), highlight=False)
    summary = result.run_summary(
        name, mode, predictions=predictions.name, data=str(args.data), **where, **({"ids": ids.name} if ids else {})
    )
    write_results(Path(f"{stem}.results.json"), result.rows(name, mode), [summary])
    write_sample_log(Path(f"{stem}.samples.jsonl"), result)
    console.print(f"wrote {escape(str(stem))}.predictions.jsonl, .results.json and .samples.jsonl", highlight=False)
    return 0
