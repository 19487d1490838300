"""LEGO-ARTA state metric for ``evaluate``: F1, TNR, FPR, invalid rate, balanced accuracy and MCC.

A thin adapter: every number comes from the task spec (:mod:`lego_arta.tasks`), so scores read
through ``evaluate.load`` equal the toolkit's own. ``evaluate`` passes one reference per answer,
the verdict, so the metrics that need more of the row (group accuracy: the state's pairs; TNR
per negative kind) are left to ``lego-arta score``.
"""

import datasets
import evaluate

from lego_arta import CITATION
from lego_arta.metrics import DEFAULT_ALPHA
from lego_arta.tasks import get_task

_DESCRIPTION = """\
State task of LEGO-ARTA: the model sees an assembly image and says whether the step was done
correctly (Yes/No). Positive class = Yes. Answers are read with lego_arta.answers.parse_yes_no;
an answer that is neither yes nor no counts as wrong (a false negative on a positive, a false
positive on a negative) and is reported in invalid_rate. F1 = 2TP/(2TP+FP+FN), TNR = TN/(TN+FP),
FPR = FP/(FP+TN); balanced accuracy = mean of TPR and TNR; MCC = Matthews correlation x 100;
undefined rates are 0. All values in percent.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (list of str): model answers.
    references (list of bool, or list of str): true verdicts, as booleans or as the reference
        answers "Yes." / "No.".
    n_resamples (int, optional): bootstrap resamples; 0 (default) skips confidence intervals.
    seed (int, optional): bootstrap seed (default 0).
    alpha (float, optional): two-sided error rate of the intervals (default 0.05).
    manuals (list of str, optional): each prediction's manual id; intervals then resample manuals
        (rows of one manual are correlated), as lego-arta score does. Without it they resample rows.
Returns:
    f1, tnr, fpr, invalid_rate, balanced_acc, mcc (float, percent) and, with n_resamples > 0,
    <metric>_low / <metric>_high.
Examples:
    >>> import evaluate, lego_arta.metrics
    >>> state = evaluate.load(lego_arta.metrics.evaluate_module_path("state"))
    >>> state.compute(predictions=["Yes.", "No.", "Yes", "perhaps"], references=[True, False, False, True])
    {'f1': 50.0, 'tnr': 50.0, 'fpr': 50.0, 'invalid_rate': 25.0, 'balanced_acc': 50.0, 'mcc': 0.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LegoArtaState(evaluate.Metric):
    """F1, TNR, FPR and invalid rate of state answers."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # String references first: evaluate takes the first schema that encodes the input, and
            # Value("bool") would accept "No." as True; Value("string") refuses non-strings.
            features=[
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
                datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("bool")}),
            ],
        )

    def _compute(self, predictions, references, n_resamples=0, seed=0, alpha=DEFAULT_ALPHA, manuals=None):
        spec = get_task("state")
        verdict_only = [name for name, column in spec.metrics.items() if column == "label"]
        return spec.scores_with_intervals(
            predictions, {"label": references}, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=manuals, metrics=verdict_only
        )
