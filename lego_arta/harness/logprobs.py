"""P(Yes) of a chat answer from the ``logprobs`` an OpenAI-compatible server returns.

A yes/no task's verdict is the answer's first word that says Yes or No; chat models may open with
``**`` or ``Answer:``, so the answer token is the first position whose chosen token or one of whose
``top_logprobs`` candidates reads as a verdict, and P(Yes) is the summed probability of the
candidates there that read as the positive word (``Yes``, `` yes``, ``YES``; a token may be a
prefix of the word, ``Att`` for ``Attached``). A positive word that is not among the listed
candidates counts as 0 at that position (its probability is below the last one listed). The
task's two verdict words come from its declared answers (``state``: yes/no, ``order``:
attached/removed).

>>> import math
>>> p_yes_from_logprobs([{"token": "**", "logprob": 0.0, "top_logprobs": []},
...                      {"token": "No", "logprob": math.log(0.7),
...                       "top_logprobs": [{"token": "No", "logprob": math.log(0.7)}, {"token": " yes", "logprob": math.log(0.2)}]}])
0.2
>>> verdict_words("lego_arta_order_noctx_icl"), verdict_words("lego_arta_scene"), verdict_words("mmmu_val")
(('attached', 'removed'), None, None)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lego_arta.harness.task_docs import QUERY_SETTINGS
from lego_arta.tasks import TASKS

#: What is left of a token once case, spaces and markup (``**``, quotes, full stops) are gone.
_NOT_LETTER = re.compile(r"[^a-z]+")
#: lmms-eval task names of our task folder: ``lego_arta_<config><setting suffix>``.
_PREFIX = "lego_arta_"


def _letters(text: str) -> str:
    return _NOT_LETTER.sub("", text.lower())


def verdict_words(lmms_task: str) -> tuple[str, str] | None:
    """(positive, negative) word of one of our lmms-eval tasks with a two-way verdict; ``None`` otherwise."""
    for config, spec in TASKS.items():
        for setting in QUERY_SETTINGS:
            if lmms_task == f"{_PREFIX}{config}{setting.suffix}":
                answers = [_letters(text) for text in spec.prompts.answers.values()]
                return (answers[0], answers[1]) if len(answers) == 2 and all(answers) else None
    return None


def reads_as(token: str, word: str) -> bool:
    """Whether a token reads as ``word`` or a prefix of it of two letters or more, ignoring case, spaces and markup."""
    letters = _letters(token)
    return bool(letters) and word.startswith(letters) and (len(letters) >= 2 or letters == word)


def p_yes_from_logprobs(positions: Sequence[Mapping[str, Any]] | None, words: tuple[str, str] = ("yes", "no")) -> float | None:
    """P(positive word) from a ``choices[0].logprobs.content`` list (as dicts); ``None`` when no position offers a verdict."""
    positive, negative = words
    for position in positions or ():
        candidates = _candidates(position)
        if any(reads_as(token, positive) or reads_as(token, negative) for token, _ in candidates):
            mass = sum(math.exp(logprob) for token, logprob in candidates if reads_as(token, positive))
            return round(min(1.0, mass), 12)
    return None


def _candidates(position: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(token, logprob) of the listed alternatives at one position, the chosen token among them once."""
    listed: Iterable[Mapping[str, Any]] = position.get("top_logprobs") or ()
    found = {str(item["token"]): float(item["logprob"]) for item in listed if item.get("logprob") is not None}
    if position.get("token") is not None and position.get("logprob") is not None:
        found.setdefault(str(position["token"]), float(position["logprob"]))
    return list(found.items())
