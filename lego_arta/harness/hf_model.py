"""``--model lego_arta_hf``: lmms-eval's ``llava_hf`` backend, which also records P(Yes) for verdict tasks.

An in-process Hugging Face vision-language model knows how likely its answer was. For a task
with a two-way verdict (``state``: Yes/No, ``order``: Attached/Removed; the words come from the
task's declared answers, as for the served path in :mod:`~lego_arta.harness.logprobs`), P(Yes)
is read from the logits of the first generated token, normalised over the token ids that begin
the two verdict words (``Yes``, ``▁Yes``, ``yes``, ``YES`` …):

    P(Yes) = Σ exp(logit[yes ids]) / (Σ exp(logit[yes ids]) + Σ exp(logit[no ids]))

and recorded through :mod:`~lego_arta.harness.probabilities` under the row's id and the answer, where
the task hooks find it, so AUROC and average precision are numbers in the lmms-eval results
and in ``score``/``report``. Generation itself is ``llava_hf``'s, unchanged (same prompt, same
greedy decoding, same answers): this class only asks ``generate`` to also return the first
step's logits. A tokenizer without a token for one of the two words gives no P(Yes) (``null``).

lmms-eval finds it through the ``lmms_eval.models`` entry point (:mod:`lego_arta.harness.lmms_eval_plugin`).

>>> round(p_yes_from_logits([0.0, 2.0, 0.0, 1.0], positive_ids=(1,), negative_ids=(3,)), 4)
0.7311
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lmms_eval.api.instance import Instance
from lmms_eval.models.simple.llava_hf import LlavaHf

from lego_arta.harness import probabilities
from lego_arta.harness.logprobs import reads_as, verdict_words

#: The name lmms-eval knows this model by.
MODEL_NAME = "lego_arta_hf"


def p_yes_from_logits(logits: Sequence[float], positive_ids: Sequence[int], negative_ids: Sequence[int]) -> float:
    """P(positive) over the two verdicts' token ids from one position's logits (a stable softmax over those ids only)."""
    positive = [float(logits[i]) for i in dict.fromkeys(positive_ids)]
    negative = [float(logits[i]) for i in dict.fromkeys(negative_ids)]
    if not positive or not negative:
        raise ValueError("P(Yes) needs at least one token id for each verdict word")
    top = max(positive + negative)
    yes = sum(math.exp(value - top) for value in positive)
    no = sum(math.exp(value - top) for value in negative)
    return yes / (yes + no)


def verdict_token_ids(tokenizer: Any, word: str) -> tuple[int, ...]:
    """Ids of the tokens an answer starting with ``word`` (any case, with or without a leading space) starts with.

    A first token counts only where it reads as (a prefix of) the word: ``Att`` for ``attached``
    does, the unknown token does not.
    """
    found: dict[int, None] = {}
    for spelling in (word, word.capitalize(), word.upper()):
        for text in (spelling, f" {spelling}"):
            ids = tokenizer.encode(text, add_special_tokens=False)
            if ids and ids[0] != tokenizer.unk_token_id and reads_as(tokenizer.convert_ids_to_tokens(ids[0]), word):
                found[int(ids[0])] = None
    return tuple(found)


class LegoArtaHf(LlavaHf):
    """``llava_hf`` that also records P(Yes) of verdict tasks from the first answer token's logits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verdict_ids: dict[tuple[str, str], tuple[tuple[int, ...], tuple[int, ...]] | None] = {}

    def _ids_of(self, words: tuple[str, str]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """(positive ids, negative ids) of a verdict pair; ``None`` when the tokenizer cannot start one of them or they share a token."""
        if words not in self._verdict_ids:
            positive, negative = (verdict_token_ids(self.tokenizer, word) for word in words)
            usable = positive and negative and not set(positive) & set(negative)
            self._verdict_ids[words] = (positive, negative) if usable else None
        return self._verdict_ids[words]

    def generate_until(self, requests: list[Instance]) -> list[str]:
        """``llava_hf``'s answers, one request at a time, with P(Yes) recorded for the verdict tasks."""
        first_logits: list[Any] = []
        generate = self.model.generate

        def generate_with_logits(*args: Any, **kwargs: Any) -> Any:
            output = generate(*args, **kwargs, output_logits=True, return_dict_in_generate=True)
            first_logits.append(output.logits[0][0] if output.logits else None)
            return output.sequences

        answers = []
        self.model.generate = generate_with_logits
        try:
            for request in requests:
                first_logits.clear()
                (answer,) = super().generate_until([request])
                answers.append(answer)
                self._record(request, answer, first_logits[0] if first_logits else None)
        finally:
            del self.model.generate
        return answers

    def _record(self, request: Instance, answer: str, logits: Any) -> None:
        """Record P(Yes) of one answered verdict request (nothing for other tasks or without logits)."""
        *_, doc_id, task, split = request.args
        words = verdict_words(str(task))
        ids = self._ids_of(words) if words is not None else None
        if ids is None or logits is None:
            return
        row_id = str(self.task_dict[task][split][doc_id]["id"])
        probabilities.record(probabilities.sample_key(row_id, answer), p_yes_from_logits(logits.float().tolist(), *ids))
