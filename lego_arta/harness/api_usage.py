"""What a served-model run cost: requests, tokens and seconds, and whether its budget stopped it.

The served model (:mod:`lego_arta.harness.served_model`) counts as it goes and writes the tally
beside the results (:data:`USAGE_NAME`); ``lego-arta eval`` copies it into the results JSON under
:data:`RESULTS_KEY`, and ``lego-arta report`` prints it. ``this_run`` is what this invocation sent;
``total`` sums every journalled answer, so a resumed run and an uninterrupted one show the same total.

>>> usage = Usage(requests=3, answered=2, input_tokens=60, output_tokens=2)
>>> usage.to_dict()["requests"], Usage.from_dict(usage.to_dict()) == usage
(3, True)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lego_arta.harness.request_journal import Answer

#: The usage file a served-model run writes into its output folder.
USAGE_NAME = "lego_arta_usage.json"
#: Where ``lego-arta eval`` puts it in the results JSON.
RESULTS_KEY = "lego_arta_usage"


@dataclass
class Usage:
    """Counters of one invocation (``requests`` counts every HTTP attempt, retries included)."""

    requests: int = 0
    retries: int = 0
    answered: int = 0
    resumed: int = 0
    unanswered: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    budget_exhausted: bool = False

    def count(self, answer: Answer) -> None:
        """Count one request answered by the endpoint (not one resumed from the journal) and its tokens."""
        self.answered += 1
        self.input_tokens += answer.input_tokens
        self.output_tokens += answer.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def usage_lines(usage: dict[str, Any]) -> list[str]:
    """The usage block of a results JSON as report lines.

    >>> usage_lines({"this_run": {"requests": 4, "retries": 1, "answered": 3, "resumed": 2, "unanswered": 0, "failed": 0,
    ...              "input_tokens": 90, "output_tokens": 3, "seconds": 1.5, "budget_exhausted": False},
    ...              "total": {"answered": 5, "input_tokens": 150, "output_tokens": 5}})
    ['requests 4 (1 retries), answered 3, resumed 2, unanswered 0, failed 0', 'tokens in 90, out 3; 1.5 s', 'all answers of this output folder: 5, tokens in 150, out 5']
    """
    run, total = usage.get("this_run", {}), usage.get("total", {})
    lines = [
        f"requests {run.get('requests', 0)} ({run.get('retries', 0)} retries), answered {run.get('answered', 0)}, "
        f"resumed {run.get('resumed', 0)}, unanswered {run.get('unanswered', 0)}, failed {run.get('failed', 0)}",
        f"tokens in {run.get('input_tokens', 0)}, out {run.get('output_tokens', 0)}; {float(run.get('seconds', 0.0)):.1f} s",
    ]
    if total:
        lines.append(
            f"all answers of this output folder: {total.get('answered', 0)}, tokens in {total.get('input_tokens', 0)}, "
            f"out {total.get('output_tokens', 0)}"
        )
    if run.get("failed"):
        lines.append(f"{run['failed']} samples failed after every retry (scored as missing); rerun the same command to ask only them")
    if run.get("budget_exhausted"):
        lines.append("budget reached: unanswered samples are scored as missing; rerun with a larger budget to finish")
    return lines
