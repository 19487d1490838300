"""P(Yes) per sample, handed from a model backend to the task hooks inside one lmms-eval process.

lmms-eval passes only the generated text from a model to ``process_results``; a model that also
knows its probability of answering "Yes" (an OpenAI-compatible server's ``logprobs``, an
in-process model's first-token logits) records it here under :func:`sample_key` of the row's
``id`` (the dataset's ``id`` column, which a backend reads as
``self.task_dict[task][split][doc_id]["id"]``) and the answer it generated, and the hooks of
:mod:`lego_arta.harness.task_docs` look it up when they score that row. The answer is part of
the key because one row is asked in several query settings in one run (``lego_arta_state`` and
``lego_arta_state_noctx`` share the hook and the row id). The table is process-local: lmms-eval
scores a rank's samples in the process that generated them.

>>> record(sample_key("state-0001", " Yes."), 0.8); lookup(sample_key("state-0001", "Yes.")), lookup("never-seen")
(0.8, None)
>>> clear()
"""

from __future__ import annotations

import math

_P_YES: dict[str, float] = {}


def sample_key(row_id: str, answer: str) -> str:
    """The key of one generated answer to one row: the row id and the answer as lmms-eval hands it
    to ``process_results`` (stripped of surrounding whitespace)."""
    return f"{row_id}\n{answer.strip()}"


def record(doc_id: str, p_yes: float) -> None:
    """Remember the model's P(Yes) for row ``doc_id``; a value outside [0, 1] is a bug in the backend."""
    value = float(p_yes)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"P(Yes) of row {doc_id!r} is {p_yes!r}; expected a probability in [0, 1]")
    _P_YES[str(doc_id)] = value


def lookup(doc_id: str) -> float | None:
    """The recorded P(Yes) of row ``doc_id``; ``None`` when the model gave none."""
    return _P_YES.get(str(doc_id))


def clear() -> None:
    """Forget every recorded value (between runs in one process, and in tests)."""
    _P_YES.clear()
