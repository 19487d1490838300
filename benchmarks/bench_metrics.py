"""Time lego_arta.metrics on a study-sized answer set against the libraries called directly.

The study scored 35,612 answers (scene 5,612, object 19,136, state 10,864). This script builds
that many synthetic answers (seeded), times our metric functions, the same computations through
sacrebleu / rouge-score / scikit-learn called directly, optionally the ``evaluate`` modules, and
the bootstrap intervals, and prints one table with the ratio ours / direct.

    .venv/bin/python benchmarks/bench_metrics.py                 # 35,612 answers
    .venv/bin/python benchmarks/bench_metrics.py --evaluate      # also time evaluate.load modules

Target (study scale, one core): all metrics of 35,612 answers in <= ~10 s, within 1.5x of the
libraries called directly where both exist, and 1000-resample intervals of every metric in
<= ~15 s.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Pair counts of the study per task (Table 4.3); --n rescales them.
STUDY_PAIRS = {"scene": 5_612, "object": 19_136, "state": 10_864}
_VOCAB = (
    "put the red brick on top of blue plate 2x2 attach it to left side find 1 white tile insert "
    "axle into technic beam yellow transparent green slope turn model around collect following pieces"
).split()


@dataclass(frozen=True)
class Data:
    """Synthetic answers and references of the three tasks."""

    scene_answers: list[str]
    scene_refs: list[str]
    scene_entities: list[list[str]]
    object_answers: list[str]
    object_boxes: list[list[float]]
    object_entities: list[list[str]]
    state_answers: list[str]
    state_labels: list[bool]


def make_data(n: int, seed: int) -> Data:
    """Answers that look like model output: partly right, partly noise, some malformed."""
    rng = np.random.default_rng(seed)
    total = sum(STUDY_PAIRS.values())
    counts = {task: max(1, round(n * share / total)) for task, share in STUDY_PAIRS.items()}

    def sentence() -> str:
        return " ".join(rng.choice(_VOCAB, size=int(rng.integers(4, 16)))).capitalize() + "."

    refs = [sentence() for _ in range(counts["scene"])]
    scene_answers = [r if rng.random() < 0.2 else sentence() for r in refs]
    scene_entities = [[str(w) for w in rng.choice(_VOCAB, size=2)] for _ in refs]

    object_boxes, object_answers, object_entities = [], [], []
    for _ in range(counts["object"]):
        x1, y1 = rng.integers(0, 80, 2)
        box = [float(x1), float(y1), float(x1 + rng.integers(5, 20)), float(y1 + rng.integers(5, 20))]
        jitter = rng.integers(-5, 6, 4)
        label = " ".join(rng.choice(_VOCAB, size=3))
        style = rng.random()
        coords = [int(v + j) for v, j in zip(box, jitter)]
        if style < 0.6:
            answer = f"<p>{label}</p>{{" + "".join(f"<{c}>" for c in coords) + "}"
        elif style < 0.8:
            answer = f"The {label} is at {coords}."
        else:
            answer = f"I think it is the {label} on the left."
        object_boxes.append(box)
        object_answers.append(answer)
        object_entities.append([str(w) for w in rng.choice(_VOCAB, size=2)])

    state_labels = [bool(v) for v in rng.random(counts["state"]) < 0.25]
    pool = ["Yes.", "No.", "Yes, it is correct.", "No, the brick is misplaced.", "I am not sure."]
    state_answers = [str(a) for a in rng.choice(pool, size=counts["state"], p=[0.5, 0.2, 0.15, 0.1, 0.05])]
    return Data(scene_answers, refs, scene_entities, object_answers, object_boxes, object_entities, state_answers, state_labels)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` runs, in seconds (least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def direct_calls(data: Data) -> dict[str, Callable[[], object]]:
    """The libraries on the same answers, without our normalisation or parsing."""
    import sacrebleu
    from rouge_score.rouge_scorer import RougeScorer
    from sklearn.metrics import confusion_matrix, f1_score

    from lego_arta.answers import parse_yes_no

    scorer = RougeScorer(["rouge1"])

    def state() -> object:
        predicted = [bool(parse_yes_no(a)) for a in data.state_answers]
        return confusion_matrix(data.state_labels, predicted, labels=[False, True]), f1_score(data.state_labels, predicted)

    return {
        "bleu": lambda: sacrebleu.corpus_bleu(data.scene_answers, [data.scene_refs]).score,
        "rouge1": lambda: [scorer.score(r, a)["rouge1"].fmeasure for a, r in zip(data.scene_answers, data.scene_refs)],
        "state": state,
    }


def our_calls(data: Data) -> dict[str, Callable[[], object]]:
    from lego_arta import metrics

    return {
        "bleu": lambda: metrics.bleu(data.scene_answers, data.scene_refs),
        "rouge1": lambda: metrics.rouge1(data.scene_answers, data.scene_refs),
        "state": lambda: metrics.state_scores(data.state_answers, data.state_labels),
        "t_acc": lambda: metrics.t_acc(data.scene_answers, data.scene_entities),
        "e_acc": lambda: metrics.e_acc(data.object_answers, data.object_entities),
        "iou+valid": lambda: (metrics.iou(data.object_answers, data.object_boxes), metrics.valid_box_rate(data.object_answers)),
    }


def evaluate_calls(data: Data) -> dict[str, Callable[[], object]]:
    """Our ``evaluate`` modules (arrow caching included), loaded offline from the package."""
    os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="bench_hf_"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    import evaluate

    from lego_arta.metrics import evaluate_module_path

    scene = evaluate.load(evaluate_module_path("scene"))
    obj = evaluate.load(evaluate_module_path("object"))
    state = evaluate.load(evaluate_module_path("state"))
    return {
        "scene (evaluate)": lambda: scene.compute(predictions=data.scene_answers, references=data.scene_refs, entities=data.scene_entities),
        "object (evaluate)": lambda: obj.compute(
            predictions=data.object_answers, references=data.object_boxes, entities=data.object_entities
        ),
        "state (evaluate)": lambda: state.compute(predictions=data.state_answers, references=data.state_labels),
    }


def bootstrap_calls(data: Data, resamples: int) -> dict[str, Callable[[], object]]:
    from lego_arta import metrics
    from lego_arta.tasks import get_task

    def scene() -> object:
        stats = get_task("scene").stats(data.scene_answers, {"answer": data.scene_refs, "entities": data.scene_entities})
        return metrics.intervals(stats, n_resamples=resamples)

    def obj() -> object:
        stats = get_task("object").stats(data.object_answers, {"box": data.object_boxes, "entities": data.object_entities})
        return metrics.intervals(stats, n_resamples=resamples)

    def state() -> object:
        return metrics.intervals(metrics.state_stats(data.state_answers, data.state_labels), n_resamples=resamples)

    return {f"scene CIs ({resamples})": scene, f"object CIs ({resamples})": obj, f"state CIs ({resamples})": state}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=sum(STUDY_PAIRS.values()), help="answers in all (study mix)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the fastest is reported")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (0 skips)")
    parser.add_argument("--evaluate", action="store_true", help="also time the evaluate modules (imports evaluate: ~10 s)")
    parser.add_argument("--json", type=Path, help="also write the timings as JSON here (benchmarks/run_all.py reads it)")
    args = parser.parse_args(argv)

    data = make_data(args.n, args.seed)
    print(
        f"answers: scene {len(data.scene_answers)}, object {len(data.object_answers)}, state {len(data.state_answers)}"
        f" (seed {args.seed}, best of {args.repeats})"
    )
    ours = {name: best_time(fn, args.repeats) for name, fn in our_calls(data).items()}
    direct = {name: best_time(fn, args.repeats) for name, fn in direct_calls(data).items()}
    print(f"{'metric':<22}{'ours s':>10}{'direct s':>10}{'ratio':>8}")
    for name, seconds in ours.items():
        if name in direct:
            print(f"{name:<22}{seconds:>10.3f}{direct[name]:>10.3f}{seconds / direct[name]:>8.2f}")
        else:
            print(f"{name:<22}{seconds:>10.3f}{'-':>10}{'-':>8}")
    total_ours, total_direct = sum(ours[k] for k in direct), sum(direct.values())
    print(f"{'shared total':<22}{total_ours:>10.3f}{total_direct:>10.3f}{total_ours / total_direct:>8.2f}")
    print(f"{'all our metrics':<22}{sum(ours.values()):>10.3f}")
    result: dict[str, object] = {
        "benchmark": "bench_metrics",
        "repeats": args.repeats,
        "resamples": args.resamples,
        "answers": {"scene": len(data.scene_answers), "object": len(data.object_answers), "state": len(data.state_answers)},
        "ours_s": ours,
        "direct_s": direct,
        "ratio": {k: ours[k] / direct[k] for k in direct},
        "shared_total_ratio": total_ours / total_direct,
        "all_ours_s": sum(ours.values()),
    }
    if args.evaluate:
        start = time.perf_counter()
        calls = evaluate_calls(data)
        print(f"{'evaluate import+load':<22}{time.perf_counter() - start:>10.3f}")
        plain = {
            "scene (evaluate)": ours["t_acc"] + ours["bleu"] + ours["rouge1"],
            "object (evaluate)": ours["e_acc"] + ours["iou+valid"],
            "state (evaluate)": ours["state"],
        }
        evaluate_s = {}
        for name, fn in calls.items():
            seconds = evaluate_s[name] = best_time(fn, args.repeats)
            print(f"{name:<22}{seconds:>10.3f}{plain[name]:>10.3f}{seconds / plain[name]:>8.2f}  (vs our functions)")
        result["evaluate_s"] = evaluate_s
        result["evaluate_vs_functions"] = {name: evaluate_s[name] / plain[name] for name in evaluate_s}
    if args.resamples:
        bootstrap_s = {}
        for name, fn in bootstrap_calls(data, args.resamples).items():
            seconds = bootstrap_s[name] = best_time(fn, 1)
            print(f"{name:<22}{seconds:>10.3f}")
        result["bootstrap_s"] = bootstrap_s
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
