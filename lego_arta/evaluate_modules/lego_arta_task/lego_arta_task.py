"""Any LEGO-ARTA task's metrics for ``evaluate``, the task chosen by the config name.

One module serves every registered task (``order``, the ``_syn`` variants and tasks added through
``LEGO_ARTA_TASK_MODULES`` included): the config name is the task, and every number comes from
its :class:`~lego_arta.tasks.spec.TaskSpec`, so scores equal ``lego-arta score`` on the same
answers and columns. ``references`` are the rows' reference answers (the ``answer`` column); the
other columns a task's metrics read (state: ``label``, ``group``, ``negative_kind``; order:
``label``, ``pair``) go in ``columns``. Metrics whose columns are not given are left out.
"""

import datasets
import evaluate

from lego_arta import CITATION
from lego_arta.metrics import DEFAULT_ALPHA
from lego_arta.tasks import TASKS, get_task
from lego_arta.tasks.spec import plain_value

_DESCRIPTION = """\
The metrics of one LEGO-ARTA task, chosen by the config name (evaluate.load(path, "order")).
Answers are parsed and scored by the task's own code (lego_arta.tasks); values are in percent.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (list of str): model answers.
    references (list of str): the rows' reference answers (the dataset's `answer` column).
    columns (dict of str to list, optional): further reference columns of the same rows, by name
        (the task's reference_columns); a metric is computed when every column it reads is given.
    n_resamples (int, optional): bootstrap resamples; 0 (default) skips confidence intervals.
    seed (int, optional): bootstrap seed (default 0).
    alpha (float, optional): two-sided error rate of the intervals (default 0.05).
    manuals (list of str, optional): each prediction's manual id; intervals then resample manuals.
Returns:
    every metric of the task its columns allow (float, percent) and, with n_resamples > 0,
    <metric>_low / <metric>_high.
Examples:
    >>> import evaluate, lego_arta.metrics
    >>> order = evaluate.load(lego_arta.metrics.evaluate_module_path("task"), "order")
    >>> pair = [{"id": "p0", "attached": True}, {"id": "p0", "attached": False}]  # one pair: frames in order, then reversed
    >>> scores = order.compute(predictions=["Attached.", "Attached."], references=["Attached.", "Removed."],
    ...                        columns={"label": [True, False], "pair": pair})
    >>> sorted(scores.items())  # right on one row of two; the answer does not flip with the frames
    [('order_accuracy', 50.0), ('order_flip_consistency', 0.0), ('order_pair_accuracy', 0.0)]
"""


def _sources(source):
    return source if isinstance(source, tuple) else (source,)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LegoArtaTask(evaluate.Metric):
    """The metrics of the task named by the config."""

    def _info(self) -> evaluate.MetricInfo:
        if self.config_name not in TASKS:
            raise ValueError(f"evaluate config {self.config_name!r}: expected a LEGO-ARTA task name, one of {', '.join(TASKS)}")
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, columns=None, n_resamples=0, seed=0, alpha=DEFAULT_ALPHA, manuals=None):
        spec = get_task(self.config_name)
        given = {"answer": list(references), **{name: [plain_value(v) for v in values] for name, values in (columns or {}).items()}}
        wrong = sorted(name for name, values in given.items() if len(values) != len(predictions))
        if wrong:
            raise ValueError(f"columns {wrong}: expected {len(predictions)} values each, one per prediction")
        chosen = [name for name, source in spec.metrics_for(given).items() if all(column in given for column in _sources(source))]
        if not chosen:
            raise ValueError(f"task {spec.name}: no metric can be computed; pass columns= with {', '.join(spec.reference_columns)}")
        return spec.scores_with_intervals(
            predictions, given, n_resamples=n_resamples, seed=seed, alpha=alpha, clusters=manuals, metrics=chosen
        )
