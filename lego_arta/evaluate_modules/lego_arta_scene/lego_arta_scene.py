"""LEGO-ARTA scene metric for ``evaluate``: T_ACC, BLEU and ROUGE-1 from ``lego_arta.metrics``.

A thin adapter: every number comes from the task spec (:mod:`lego_arta.tasks`), so scores read
through ``evaluate.load`` equal the toolkit's own.
"""

import datasets
import evaluate

from lego_arta import CITATION
from lego_arta.metrics import DEFAULT_ALPHA
from lego_arta.tasks import get_task

_DESCRIPTION = """\
Scene task of LEGO-ARTA: the model reads an assembly image and the parts just found and says what
to do next. T_ACC is the share of the reference instruction's part (theme) and colour (colorinfo)
phrases named in the answer (micro average); BLEU is sacrebleu corpus BLEU; ROUGE-1 is the mean
rouge-score unigram F1. Both sides are normalised first (case-folded, punctuation and symbols to spaces).
All values in percent.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (list of str): model answers.
    references (list of str): reference instructions of the assembly step.
    entities (list of list of str): the reference's theme and colorinfo phrases, per sample.
    n_resamples (int, optional): bootstrap resamples; 0 (default) skips confidence intervals.
    seed (int, optional): bootstrap seed (default 0).
    alpha (float, optional): two-sided error rate of the intervals (default 0.05).
    manuals (list of str, optional): each prediction's manual id; intervals then resample manuals
        (rows of one manual are correlated), as lego-arta score does. Without it they resample rows.
Returns:
    t_acc, bleu, rouge1 (float, percent) and, with n_resamples > 0, <metric>_low / <metric>_high.
Examples:
    >>> import evaluate, lego_arta.metrics
    >>> scene = evaluate.load(lego_arta.metrics.evaluate_module_path("scene"))
    >>> scene.compute(predictions=["Put the red brick on top."], references=["Put the red brick on top."],
    ...               entities=[["red", "brick"]])
    {'t_acc': 100.0, 'bleu': 100.00000000000004, 'rouge1': 100.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LegoArtaScene(evaluate.Metric):
    """T_ACC, BLEU and ROUGE-1 of scene answers."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Value("string"),
                    "entities": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references, entities, n_resamples=0, seed=0, alpha=DEFAULT_ALPHA, manuals=None):
        return get_task("scene").scores_with_intervals(
            predictions, {"answer": references, "entities": entities}, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=manuals
        )
