"""LEGO-ARTA object metric for ``evaluate``: E_ACC, IoU and valid-box rate from ``lego_arta.metrics``.

A thin adapter: every number comes from the task spec (:mod:`lego_arta.tasks`), so scores read
through ``evaluate.load`` equal the toolkit's own.
"""

import datasets
import evaluate

from lego_arta import CITATION
from lego_arta.metrics import DEFAULT_ALPHA
from lego_arta.tasks import get_task
from lego_arta.tasks.spec import LATE_COLUMNS, RUN_COLUMNS

_DESCRIPTION = """\
Object task of LEGO-ARTA: the model finds the named parts in a 2x2 collage of parts images and
answers with a box, e.g. <p>1 light purple brick</p>{<57><15><82><35>} (0-100 frame). E_ACC is
the share of the query's part (theme) and colour (colorinfo) phrases named in the predicted label
(the <p>...</p> text, else the whole answer; micro average). IoU is the mean intersection over
union of the first parsed box with the true box, 0 when no box can be parsed; valid_box_rate is
the share of answers with a usable box. Many box notations are read (MiniGPT-v2, bare <x><y><x><y>,
[x1, y1, x2, y2] in the 0-1 or 0-100 frame, Qwen-VL <box>); see lego_arta.answers.parse_boxes.
All values in percent. Quadrant accuracy, its position-bias breakdown and the echo rate need the
row's quadrant and query phrase: `lego-arta score` reports them.
"""

_KWARGS_DESCRIPTION = """\
Args:
    predictions (list of str): model answers.
    references (list of list of float): true boxes [x1, y1, x2, y2] in the 0-100 frame.
    entities (list of list of str): the query's theme and colorinfo phrases, per sample.
    n_resamples (int, optional): bootstrap resamples; 0 (default) skips confidence intervals.
    seed (int, optional): bootstrap seed (default 0).
    alpha (float, optional): two-sided error rate of the intervals (default 0.05).
    manuals (list of str, optional): each prediction's manual id; intervals then resample manuals
        (rows of one manual are correlated), as lego-arta score does. Without it they resample rows.
Returns:
    e_acc, iou, valid_box_rate (float, percent) and, with n_resamples > 0, <metric>_low / <metric>_high.
Examples:
    >>> import evaluate, lego_arta.metrics
    >>> obj = evaluate.load(lego_arta.metrics.evaluate_module_path("object"))
    >>> obj.compute(predictions=["<p>red brick</p>{<0><0><10><10>}"], references=[[0, 0, 10, 20]],
    ...             entities=[["red", "brick"]])
    {'e_acc': 100.0, 'iou': 50.0, 'valid_box_rate': 100.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LegoArtaObject(evaluate.Metric):
    """E_ACC, IoU and valid-box rate of object answers."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string"),
                    "references": datasets.Sequence(datasets.Value("float64"), length=4),
                    "entities": datasets.Sequence(datasets.Value("string")),
                }
            ),
        )

    def _compute(self, predictions, references, entities, n_resamples=0, seed=0, alpha=DEFAULT_ALPHA, manuals=None):
        spec = get_task("object")
        available = {"box", "entities", *RUN_COLUMNS, *LATE_COLUMNS}  # run and late columns take their defaults (auto boxes)
        given = [name for name, column in spec.metrics.items() if set(column if isinstance(column, tuple) else (column,)) <= available]
        return spec.scores_with_intervals(
            predictions,
            {"box": references, "entities": entities},
            n_resamples=n_resamples,
            seed=seed,
            alpha=alpha,
            clusters=manuals,
            metrics=given,
        )
