"""``lego-arta qa``: dataset quality assurance, the study's rating questionnaire and its agreement statistics.

lego-arta qa make --data out/quickstart/lego-arta --out out/qa --per-task 100 --seed 0
lego-arta qa score ratings-*.json --items out/qa/items.json --out out/qa-scores
lego-arta qa make --mode answer --data out/quickstart/lego-arta --out out/human --per-task 50
lego-arta qa score answers-*.json --items out/human/items.json --out out/human-predictions
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.commands.options import POSITIVE_INT, SEED, comma_list, number

HELP = "dataset quality assurance: a rating questionnaire (qa make) and its agreement statistics (qa score)"
GROUP = "dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``lego-arta qa`` and its sub-commands."""
    from lego_arta.study import QA_PAIRS_PER_TASK

    sub = parser.add_subparsers(dest="qa_command", required=True)
    make = sub.add_parser("make", help="write a self-contained rating questionnaire (index.html, items.json, images/)")
    make.add_argument("--data", required=True, help="built dataset folder")
    make.add_argument("--out", type=Path, required=True, help="questionnaire folder to write")
    make.add_argument("--per-task", type=POSITIVE_INT, default=QA_PAIRS_PER_TASK, help="pairs rated per task (the study: 100)")
    make.add_argument("--seed", type=SEED, default=0)
    make.add_argument("--split", default="test")
    make.add_argument(
        "--mode",
        choices=("rate", "answer"),
        default="rate",
        help="rate: people rate the dataset's pairs (the study); answer: people do the tasks (a human baseline)",
    )
    make.add_argument(
        "--tasks", type=comma_list, default=None, help="comma-separated (default: object,state to rate; object,state,scene to answer)"
    )
    make.add_argument("--overwrite", action="store_true", help="replace an existing questionnaire folder")
    make.set_defaults(qa_run=_make)
    score = sub.add_parser("score", help="validate ratings files, compute agreement, flag bad pairs, write the report")
    score.add_argument("ratings", nargs="+", type=Path, help="ratings (or, for --mode answer, answers) files downloaded from the page")
    score.add_argument("--items", type=Path, required=True, help="the questionnaire's items.json")
    score.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for qa_scores.json, flagged.json, report.md and charts (answer mode: predictions per person and task)",
    )
    score.add_argument("--seed", type=SEED, default=0, help="seed of the bootstrap intervals")
    score.add_argument(
        "--min-check-pass",
        type=number(float, low=0, high=1),
        default=None,
        help="exclude a rater from a task below this check pass rate (default: the documented rule, 2/3)",
    )
    score.set_defaults(qa_run=_score)
    export = sub.add_parser("labelstudio-export", help="a questionnaire as Label Studio projects: a labeling config and tasks per task")
    export.add_argument("questionnaire", type=Path, help="folder written by qa make (rate mode)")
    export.add_argument("--out", type=Path, required=True, help="folder for labelstudio-<task>.xml and labelstudio-<task>-tasks.json")
    export.add_argument(
        "--image-url", default=None, help="URL the questionnaire folder is served at (default: images embedded as data: URLs)"
    )
    export.set_defaults(qa_run=_labelstudio_export)
    imported = sub.add_parser("labelstudio-import", help="Label Studio JSON exports → one ratings file per annotator")
    imported.add_argument("exports", nargs="+", type=Path, help="Label Studio JSON exports (one per project)")
    imported.add_argument("--items", type=Path, required=True, help="the questionnaire's items.json")
    imported.add_argument("--out", type=Path, required=True, help="folder for ratings-<annotator>.json")
    imported.set_defaults(qa_run=_labelstudio_import)


def run(args: argparse.Namespace) -> int:
    """The chosen sub-command."""
    return args.qa_run(args, Console(soft_wrap=True))


def _make(args: argparse.Namespace, console: Console) -> int:
    """A rating questionnaire (the study), or with ``--mode answer`` one that asks people the tasks."""
    from lego_arta.qa.questionnaire import MakeConfig

    if args.mode == "answer":
        from lego_arta.qa.baseline import ANSWER_TASKS, make_answer_questionnaire

        config = MakeConfig(per_task=args.per_task, seed=args.seed, split=args.split, tasks=tuple(args.tasks or ANSWER_TASKS))
        document = make_answer_questionnaire(args.data, args.out, config, overwrite=args.overwrite)
        for task in config.tasks:
            console.print(f"{task}: {sum(item['task'] == task for item in document['items'])} items to answer")
        console.print(f"wrote {escape(str(args.out / 'index.html'))} (answer questionnaire {document['questionnaire']})", highlight=False)
        return 0
    from lego_arta.qa.questionnaire import make_questionnaire

    config = MakeConfig(per_task=args.per_task, seed=args.seed, split=args.split, tasks=tuple(args.tasks or ("object", "state")))
    document = make_questionnaire(args.data, args.out, config, overwrite=args.overwrite)
    for task in config.tasks:
        mine = [item for item in document["items"] if item["task"] == task]
        checks = [n for n, item in enumerate(mine, start=1) if item["check"]]
        console.print(f"{task}: {len(mine)} items, {len(checks)} checks at positions {checks}")
    console.print(f"wrote {escape(str(args.out / 'index.html'))} (questionnaire {document['questionnaire']})", highlight=False)
    return 0


def _score(args: argparse.Namespace, console: Console) -> int:
    """Ratings → agreement, flagged pairs and the report; answers (answer mode) → predictions per person and task."""
    from lego_arta.qa.formats import is_answer_mode, read_json

    if is_answer_mode(read_json(args.items)):
        from lego_arta.qa.baseline import answers_to_predictions

        summary = answers_to_predictions(args.items, args.ratings, args.out)
        for person, entry in summary["people"].items():
            for task, counts in entry["tasks"].items():
                console.print(f"{escape(person)}/{task}: {counts['answered']} of {counts['items']} answered", highlight=False)
        console.print(f"wrote predictions to {escape(str(args.out))}; score them with:", highlight=False)
        for command in summary["commands"]:
            console.print(f"  {escape(command)}", highlight=False)
        return 0
    from lego_arta.qa.scoring import DEFAULT_MIN_CHECK_PASS, score_ratings, write_outputs

    threshold = DEFAULT_MIN_CHECK_PASS if args.min_check_pass is None else args.min_check_pass
    result = score_ratings(args.items, args.ratings, min_check_pass=threshold, seed=args.seed)
    write_outputs(result, args.out)
    for task, criteria in result.scores["tasks"].items():
        for name, stats in criteria.items():
            console.print(f"{task}/{name}: mean {stats['mean']:.2f}, Fleiss {stats['fleiss_kappa']}, alpha {stats['krippendorff_alpha']}")
    console.print(f"flagged {len(result.flagged['pairs'])} pairs; wrote {escape(str(args.out))}", highlight=False)
    return 0


def _labelstudio_export(args: argparse.Namespace, console: Console) -> int:
    from lego_arta.qa.labelstudio import export_labelstudio

    for path in export_labelstudio(args.questionnaire, args.out, image_url=args.image_url):
        console.print(f"wrote {escape(str(path))}", highlight=False)
    return 0


def _labelstudio_import(args: argparse.Namespace, console: Console) -> int:
    from lego_arta.qa.labelstudio import import_labelstudio

    written, cancelled = import_labelstudio(args.exports, args.items, args.out)
    if cancelled:
        console.print(f"skipped {cancelled} cancelled annotation(s)")
    for path in written:
        console.print(f"wrote {escape(str(path))}", highlight=False)
    return 0
