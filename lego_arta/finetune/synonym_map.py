"""``lego-arta synonym-map``: where a model puts the verb synonyms, before and after fine-tuning (ACE Fig. 1).

ACE's argument is geometric: a model that overfits to its training verbs embeds "attach" far from
"fasten", so an unseen synonym lands outside the concept it names; synonym-augmented training pulls
each concept's words together. This module measures that on any Hub or local VLM (and a LoRA
adapter): every word of every synonym tree (:mod:`lego_arta.tasks.synonyms`) is put in the same
sentence frame, its tokens' last hidden states are mean-pooled into one vector, and

- the mean cosine similarity of word pairs **within** a concept (words sharing a tree) and
  **between** concepts (words sharing none) is reported for the base model and for the model with
  the adapter; their difference, the ``separation``, is the number ACE's picture shows;
- a PNG draws all words in one 2-D PCA (scikit-learn) fitted on both models' vectors, so the two
  panels share axes; colour is the concept, hollow markers are the unseen (test-only) synonyms.

The forward pass is text only (no image), the same for every image-text-to-text model.

Not run as a doctest: it needs a model and its adapter.

>>> result = synonym_map("out/tiny-model", adapter=Path("out/finetune"))   # doctest: +SKIP
>>> result.models["base"].separation < result.models["adapter"].separation   # doctest: +SKIP
True
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.markup import escape
from rich.table import Table

from lego_arta.tasks.synonyms import SynonymSplit, Vocabulary, load_trees, unseen_words

#: The sentence frame each verb is embedded in (the instructions' own frame).
DEFAULT_FRAME = "{verb} the brick onto the plate."
#: Seed of the seen/unseen split whose unseen words are drawn hollow (the default build's seed).
DEFAULT_SPLIT_SEED = 0
#: Written into ``--out``.
JSON_NAME, PNG_NAME = "synonym-map.json", "synonym-map.png"
FORMAT = "lego-arta-synonym-map/1"


@dataclass(frozen=True)
class ConceptSimilarity:
    """Mean pairwise cosine similarity within and between concepts, and their difference."""

    within: float
    between: float

    @property
    def separation(self) -> float:
        return self.within - self.between

    def to_dict(self) -> dict[str, float]:
        return {"within": self.within, "between": self.between, "separation": self.separation}


def concept_words(vocabulary: Vocabulary) -> dict[str, tuple[str, ...]]:
    """Concept (root verb) → its distinct words to second order; a word may belong to several concepts."""
    return {root: tree.words(depth=2) for root, tree in vocabulary.trees.items()}


def concept_similarity(vectors: Mapping[str, np.ndarray], concepts: Mapping[str, Sequence[str]]) -> ConceptSimilarity:
    """Within: pairs of distinct words sharing a concept; between: pairs sharing none.

    >>> e = np.eye(3)
    >>> concept_similarity({"a": e[0], "b": e[0], "c": e[1]}, {"A": ["a", "b"], "C": ["c"]})
    ConceptSimilarity(within=1.0, between=0.0)
    """
    from sklearn.metrics.pairwise import cosine_similarity

    words = list(vectors)
    membership = {word: {concept for concept, members in concepts.items() if word in members} for word in words}
    similarity = cosine_similarity(np.stack([vectors[word] for word in words]))
    within, between = [], []
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            (within if membership[words[i]] & membership[words[j]] else between).append(similarity[i, j])
    if not within or not between:
        raise ValueError("need at least one pair of words within a concept and one between concepts")
    return ConceptSimilarity(float(np.mean(within)), float(np.mean(between)))


def _verb_tokens(offsets: Sequence[tuple[int, int]], start: int, stop: int) -> list[int]:
    """Positions of the tokens overlapping characters ``start:stop`` (special tokens have empty spans)."""
    return [i for i, (begin, end) in enumerate(offsets) if end > begin and begin < stop and end > start]


def embed_words(model: Any, tokenizer: Any, words: Sequence[str], *, frame: str = DEFAULT_FRAME) -> dict[str, np.ndarray]:
    """Word → the mean last hidden state of its tokens in ``frame`` (``{verb}`` marks where it goes).

    One right-padded batch: with a causal model the padding after a sentence cannot change it.
    """
    import torch

    if "{verb}" not in frame:
        raise ValueError(f"--frame {frame!r} has no {{verb}} placeholder")
    texts = [frame.format(verb=word) for word in words]
    side, tokenizer.padding_side = tokenizer.padding_side, "right"
    try:
        encoded = tokenizer(texts, return_tensors="pt", padding=True, return_offsets_mapping=True)
    finally:
        tokenizer.padding_side = side
    offsets = encoded.pop("offset_mapping").tolist()
    model.eval()
    with torch.no_grad():
        hidden = model(**encoded, output_hidden_states=True).hidden_states[-1].float()
    vectors = {}
    for row, (word, text) in enumerate(zip(words, texts)):
        start = text.index(word)
        keep = _verb_tokens(offsets[row], start, start + len(word))
        if not keep:
            raise ValueError(f"the tokenizer gives no token for {word!r} in {text!r}")
        vectors[word] = hidden[row, keep].mean(dim=0).numpy()
    return vectors


@dataclass(frozen=True)
class SynonymMap:
    """The words, their concepts, each model's vectors and similarity numbers."""

    concepts: dict[str, tuple[str, ...]]
    unseen: frozenset[str]
    vectors: dict[str, dict[str, np.ndarray]]  # model label → word → vector
    models: dict[str, ConceptSimilarity]
    sources: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "models": {label: {"source": self.sources[label], **numbers.to_dict()} for label, numbers in self.models.items()},
            "concepts": {root: list(words) for root, words in self.concepts.items()},
            "unseen": sorted(self.unseen),
        }


def synonym_map(
    model: str | Path,
    *,
    adapter: Path | None = None,
    frame: str = DEFAULT_FRAME,
    split_seed: int = DEFAULT_SPLIT_SEED,
    vocabulary: Vocabulary | None = None,
) -> SynonymMap:
    """Embed every synonym with ``model``, and again with ``adapter`` applied when one is given."""
    from peft import PeftModel

    from lego_arta.finetune.merge import find_adapter
    from lego_arta.finetune.vlm import load_model, load_processor

    vocabulary = vocabulary or load_trees()
    concepts = concept_words(vocabulary)
    words = list(dict.fromkeys(word for members in concepts.values() for word in members))
    tokenizer = load_processor(model).tokenizer
    base = load_model(model)
    vectors = {"base": embed_words(base, tokenizer, words, frame=frame)}
    sources = {"base": str(model)}
    if adapter is not None:
        adapter = find_adapter(Path(adapter))
        vectors["adapter"] = embed_words(PeftModel.from_pretrained(base, str(adapter)), tokenizer, words, frame=frame)
        sources["adapter"] = str(adapter)
    return SynonymMap(
        concepts=concepts,
        unseen=unseen_words(SynonymSplit.make(vocabulary, seed=split_seed)),
        vectors=vectors,
        models={label: concept_similarity(found, concepts) for label, found in vectors.items()},
        sources=sources,
    )


def map_png(result: SynonymMap) -> bytes:
    """One panel per model, all in the PCA plane of every model's vectors (so panels are comparable)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    labels = list(result.vectors)
    words = list(result.vectors[labels[0]])
    stacked = np.concatenate([np.stack([result.vectors[label][word] for word in words]) for label in labels])
    points = PCA(n_components=2, svd_solver="full").fit_transform(stacked).reshape(len(labels), len(words), 2)
    concept_of = {word: next(root for root, members in result.concepts.items() if word in members) for word in words}
    colours = dict(zip(result.concepts, plt.get_cmap("tab20")(np.linspace(0, 1, len(result.concepts)))))
    figure, axes = plt.subplots(1, len(labels), figsize=(6.5 * len(labels), 6), squeeze=False, sharex=True, sharey=True)
    for axis, label, panel in zip(axes[0], labels, points):
        for index, word in enumerate(words):
            colour = colours[concept_of[word]]
            hollow = word in result.unseen
            axis.scatter(*panel[index], s=36, edgecolors=[colour], facecolors="none" if hollow else [colour], linewidths=1.2)
            axis.annotate(word, panel[index], fontsize=6, xytext=(2, 2), textcoords="offset points", color=colour)
        numbers = result.models[label]
        axis.set_title(
            f"{label}: within {numbers.within:.2f}, between {numbers.between:.2f}, separation {numbers.separation:+.2f}", fontsize=9
        )
        axis.set_xlabel("PC 1")
        axis.set_ylabel("PC 2")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colour, label=root) for root, colour in colours.items()]
    figure.legend(handles=handles, loc="lower center", ncol=min(8, len(handles)), fontsize=7, frameon=False)
    figure.suptitle("Verb synonyms by concept (hollow: unseen in training)", fontsize=10)
    figure.tight_layout(rect=(0, 0.08, 1, 0.96))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def similarity_table(result: SynonymMap) -> Table:
    table = Table(title=f"cosine similarity of {sum(len(v) for v in result.concepts.values())} synonyms in {len(result.concepts)} concepts")
    for column in ("model", "within concept", "between concepts", "separation"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for label, numbers in result.models.items():
        table.add_row(
            escape(f"{label} ({result.sources[label]})"), f"{numbers.within:.3f}", f"{numbers.between:.3f}", f"{numbers.separation:+.3f}"
        )
    return table
