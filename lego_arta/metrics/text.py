"""Text similarity of scene answers: the shared normaliser, corpus BLEU and ROUGE-1.

Every text metric first runs both sides through :func:`normalise_text`, so "Put it ON the body."
and "put it on the body" score the same everywhere (SPEC §4). BLEU and ROUGE are the field's
implementations (sacrebleu, rouge-score) called on the normalised strings; pass
``normalise=False`` to score raw text instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from lego_arta.metrics.bootstrap import SampleStats, mean_stats

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer
    from sacrebleu.metrics import BLEU

#: BLEU's n-gram orders (sacrebleu's default).
BLEU_MAX_ORDER = 4
#: sacrebleu's corpus_bleu smoothing, kept so resampled BLEU equals ``corpus_bleu`` exactly.
BLEU_SMOOTHING = "exp"
#: Runs of anything but letters and digits (``\\w`` minus ``_``), replaced by one space.
_NON_WORD_RE = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """The one normaliser of every metric: NFKC, case-fold, punctuation to spaces, folded spaces.

    Everything that is not a letter, digit or space (punctuation and symbols, as in
    ``string.punctuation``; also ``_``) becomes a space rather than vanishing, so "bright-yellow"
    and "bright yellow" agree. NFKC runs again after case-folding so the result is stable under
    a second call.

    >>> normalise_text("  Find 2 transparent-red flat tiles, 1x2! ")
    'find 2 transparent red flat tiles 1x2'
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(_NON_WORD_RE.sub(" ", folded).split())


def check_not_empty(answers: Sequence[object]) -> None:
    """Refuse an empty answer set: every metric is undefined there (sacrebleu and scikit-learn
    refuse it too)."""
    if not answers:
        raise ValueError("no answers to score: metrics are undefined on an empty set")


def check_same_length(answers: Sequence[object], references: Sequence[object], what: str) -> None:
    """Refuse mismatched or empty inputs with a message naming the field."""
    if len(answers) != len(references):
        raise ValueError(f"{len(answers)} answers but {len(references)} {what}: they must pair one to one")
    check_not_empty(answers)


def _prepare(texts: Sequence[str], normalise: bool, what: str) -> list[str]:
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"{what}[{bad}] is {type(texts[bad]).__name__}, expected str")
    return [normalise_text(t) for t in texts] if normalise else list(texts)


def bleu(answers: Sequence[str], references: Sequence[str], *, normalise: bool = True) -> float:
    """Corpus BLEU in percent: ``sacrebleu.corpus_bleu(answers, [references]).score``.

    >>> round(bleu(["put it on the body"], ["Put it on the body."]), 2)
    100.0
    """
    from sacrebleu import corpus_bleu

    check_same_length(answers, references, "references")
    return float(corpus_bleu(_prepare(answers, normalise, "answers"), [_prepare(references, normalise, "references")]).score)


@lru_cache(maxsize=1)
def _sentence_bleu() -> BLEU:
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True)


def _bleu_rows(answers: Sequence[str], references: Sequence[str], normalise: bool) -> list[tuple[float, list[float]]]:
    """Per answer: sentence BLEU and the sufficient statistics sacrebleu sums for corpus BLEU."""
    check_same_length(answers, references, "references")
    metric = _sentence_bleu()
    rows = []
    for hyp, ref in zip(_prepare(answers, normalise, "answers"), _prepare(references, normalise, "references")):
        score = metric.sentence_score(hyp, [ref])
        rows.append((float(score.score), [score.sys_len, score.ref_len, *score.counts, *score.totals]))
    return rows


def bleu_per_sample(answers: Sequence[str], references: Sequence[str], *, normalise: bool = True) -> list[float]:
    """Sentence BLEU per answer (sacrebleu, effective order), for per-sample logs.

    The mean of these is not corpus BLEU; bootstrap corpus BLEU with :func:`bleu_stats`.
    """
    return [score for score, _ in _bleu_rows(answers, references, normalise)]


def _bleu_from_sums(sums: np.ndarray) -> float:
    from sacrebleu.metrics import BLEU

    counts = [int(c) for c in sums]
    return float(
        BLEU.compute_bleu(
            correct=counts[2 : 2 + BLEU_MAX_ORDER],
            total=counts[2 + BLEU_MAX_ORDER :],
            sys_len=counts[0],
            ref_len=counts[1],
            smooth_method=BLEU_SMOOTHING,
            max_ngram_order=BLEU_MAX_ORDER,
        ).score
    )


def bleu_stats(answers: Sequence[str], references: Sequence[str], *, normalise: bool = True) -> SampleStats:
    """Corpus-BLEU sufficient statistics (lengths, n-gram matches and totals) per answer."""
    rows = [stats for _, stats in _bleu_rows(answers, references, normalise)]
    return SampleStats(np.asarray(rows, dtype=np.float64), _bleu_from_sums)


@lru_cache(maxsize=2)
def _rouge_scorer(use_stemmer: bool) -> RougeScorer:
    # Imported here: rouge-score pulls in NLTK (about 2 s); its Porter stemmer needs no downloads.
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rouge1"], use_stemmer=use_stemmer)


def rouge1_per_sample(
    answers: Sequence[str], references: Sequence[str], *, normalise: bool = True, use_stemmer: bool = False
) -> list[float]:
    """ROUGE-1 F1 in percent per answer (rouge-score; reference is the target)."""
    check_same_length(answers, references, "references")
    scorer = _rouge_scorer(use_stemmer)
    pairs = zip(_prepare(references, normalise, "references"), _prepare(answers, normalise, "answers"))
    return [100.0 * scorer.score(target, prediction)["rouge1"].fmeasure for target, prediction in pairs]


def rouge1(answers: Sequence[str], references: Sequence[str], *, normalise: bool = True, use_stemmer: bool = False) -> float:
    """Mean ROUGE-1 F1 in percent.

    >>> round(rouge1(["the red brick"], ["Put the red brick on top."]), 2)
    66.67
    """
    return float(np.mean(rouge1_per_sample(answers, references, normalise=normalise, use_stemmer=use_stemmer)))


def rouge1_stats(answers: Sequence[str], references: Sequence[str], *, normalise: bool = True, use_stemmer: bool = False) -> SampleStats:
    """Bootstrap statistics of the mean ROUGE-1."""
    return mean_stats(rouge1_per_sample(answers, references, normalise=normalise, use_stemmer=use_stemmer))
