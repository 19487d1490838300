"""Read what a vision-language model answered: boxes, yes/no verdicts and object labels.

Models rarely follow the requested answer format to the letter, so every metric reads answers
through these three parsers and nothing else. They are total functions: any string goes in, a
well-formed value (or ``None`` / an empty list) comes out, never an exception.

Boxes (:func:`parse_boxes`) are returned in the benchmark's 0–100 frame as
``(label, (x1, y1, x2, y2))``. Accepted notations, in any mix and number::

    <p>1 light purple brick</p>{<57><15><82><35>}     MiniGPT-v2 (braces and spaces optional)
    <p>obj</p> {<10><20><30><40><delim><50><60><70><80>}   several boxes of one object
    <20><61><30><78>                                   bare quadruple, no label
    [20, 61, 30, 78]   (20, 61, 30, 78)                list or tuple in the 0–100 frame
    [0.2, 0.61, 0.3, 0.78]                             list in the 0–1 frame (see the scale rule)
    <ref>brick</ref><box>(200,610),(300,780)</box>     Qwen-VL, 0–1000 frame
    <|object_ref_start|>brick<|object_ref_end|><|box_start|>(200,610),(300,780)<|box_end|>

Rules, applied in this order:

1. Scale. Qwen-VL boxes are always in the 0–1000 frame (divided by 10). Any other box is read in
   the 0–1 frame (multiplied by 100) when all four numbers lie in [0, 1] and at least one is
   written with a decimal point (``0.2``, ``1.0``); otherwise in the 0–100 frame. So
   ``[0, 0, 1, 1]`` is a tiny 0–100 box, ``[0.0, 0.0, 1.0, 1.0]`` the whole image.
2. Clip every coordinate to [0, 100] (a model pointing past the edge still means the edge).
3. Order swapped corners (``<30><78><20><61>`` is the box ``(20, 61, 30, 78)``).
4. Reject boxes with no area left (``x1 == x2`` or ``y1 == y2``), e.g. a box wholly outside the
   image: they cannot overlap anything, and counting them as valid would inflate the valid rate.

A label is the text of a ``<p>…</p>`` (or ``<ref>…</ref>``) tag directly before a box group (only
spaces, ``:`` or ``=`` between); every box of a ``<delim>`` group shares it; other boxes get
``None``.

JSON box objects, as Qwen2.5-VL and Gemini write them, are read in every format, alone, in lists
and inside fenced ```` ```json ```` blocks; their ``label`` is the box's label::

    {"bbox_2d": [x1, y1, x2, y2], "label": "red brick"}       Qwen2.5-VL (absolute pixels)
    {"box_2d": [ymin, xmin, ymax, xmax], "label": "red brick"}  Gemini (0–1000)

Native conventions (:data:`BOX_FORMATS`, chosen per run with :class:`BoxFrame`): rule 1 above is
the ``auto`` format (today's rules). An explicit format reads every box's numbers in one frame:
``0-100``; ``0-1000`` (Qwen2-VL, Qwen3-VL); ``pixels`` (Qwen2.5-VL; needs the image's size);
``gemini`` (``[ymin, xmin, ymax, xmax]`` in 0–1000; Qwen-VL ``(x,y),(x,y)`` point pairs keep their
order). Clipping, ordering and rejection (rules 2–4) apply in every format. In ``auto``,
absolute pixel boxes cannot be told from the 0–100 frame: they are clipped like any out-of-range
value, so a pixel-writing model needs ``pixels``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass

from lego_arta.boxes import FrameBox

LabelledBox = tuple[str | None, FrameBox]

#: The benchmark's coordinate frame: every returned coordinate lies in [0, FRAME].
FRAME = 100.0
#: Qwen-VL and Qwen2-VL write coordinates in a 0–1000 frame.
QWEN_FRAME = 1000.0

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_ANGLE_QUAD = rf"<\s*({_NUM})\s*>\s*<\s*({_NUM})\s*>\s*<\s*({_NUM})\s*>\s*<\s*({_NUM})\s*>"
_QUAD_RE = re.compile(_ANGLE_QUAD)
#: No two optional runs of spaces touch (``\s*\}?\s*`` backtracks quadratically on a long run of spaces).
_DELIM = r"\s*(?:\}\s*)?<delim>\s*(?:\{\s*)?"
_QWEN_PAIRS = rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)\s*(?:,\s*)?\(\s*({_NUM})\s*,\s*({_NUM})\s*\)"
_QWEN_PAIRS_RE = re.compile(_QWEN_PAIRS)
_LIST = rf"[\[(]\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*[\])]"
_LIST_RE = re.compile(_LIST)
#: A flat JSON object naming a box (``bbox_2d`` or ``box_2d``); ``[^{}]`` keeps each attempt to one
#: brace-free stretch, so the scan stays linear. Single quotes are accepted (Python-style dicts).
_JSON_OBJECT = r"""\{[^{}]*?["']b?box_2d["'][^{}]*\}"""
_JSON_BOX_RE = re.compile(rf"""["']b?box_2d["']\s*:\s*{_LIST}""")
_JSON_LABEL_RE = re.compile(r"""["']label["']\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)')""")

#: How box numbers are read: ``auto`` (the rules of the module docstring) or one native convention.
BOX_FORMATS: tuple[str, ...] = ("auto", "0-100", "0-1000", "pixels", "gemini")

#: Longest label read from a tag; bounds the regex work on answers with an unclosed ``<p>``.
MAX_LABEL_CHARS = 500
_LABEL_TAGS = (
    rf"<p>(?P<p_text>.{{0,{MAX_LABEL_CHARS}}}?)</p>"
    rf"|<ref>(?P<ref_text>.{{0,{MAX_LABEL_CHARS}}}?)</ref>"
    rf"|<\|object_ref_start\|>(?P<qref_text>.{{0,{MAX_LABEL_CHARS}}}?)<\|object_ref_end\|>"
)
_LABEL_TAG_RE = re.compile(_LABEL_TAGS, re.DOTALL | re.IGNORECASE)

#: One alternative per notation; ``finditer`` walks the answer left to right over all of them.
#: Every alternative starts with a fixed character so long runs of spaces cost linear time.
_TOKEN_RE = re.compile(
    rf"(?P<label>{_LABEL_TAGS})"
    rf"|(?P<angle>(?:\{{\s*)?{_ANGLE_QUAD}(?:{_DELIM}{_ANGLE_QUAD})*(?:\s*\}})?)"
    rf"|(?P<qwen><box>\s*{_QWEN_PAIRS}\s*</box>|<\|box_start\|>\s*{_QWEN_PAIRS}\s*<\|box_end\|>)"
    rf"|(?P<json>{_JSON_OBJECT})"
    rf"|(?P<list>{_LIST})",
    re.DOTALL | re.IGNORECASE,
)
_LABEL_GAP_RE = re.compile(r"[\s:=]*")

#: Words read as a verdict; informal variants appear in chat-tuned models' answers.
YES_WORDS = frozenset({"yes", "yeah", "yep", "yup"})
NO_WORDS = frozenset({"no", "nope"})
_SENTENCE_END_RE = re.compile(r"[.!?;\n]+")
#: Words, and ``/`` as a word of its own so that "yes/no" reads as a hedge.
_WORD_RE = re.compile(r"[^\W_]+|/")
#: Joiners that, between a verdict and its opposite, make a hedge ("yes and no", "Yes or No?").
_HEDGE_WORDS = frozenset({"and", "or", "/"})


@dataclass(frozen=True)
class BoxFrame:
    """How one answer's box numbers are read: the run's ``format`` and, for ``pixels``, the image size.

    >>> BoxFrame("pixels", 800, 400).to_frame((400.0, 100.0, 800.0, 400.0), points=False)
    (50.0, 25.0, 100.0, 100.0)
    >>> BoxFrame("gemini").to_frame((100.0, 200.0, 300.0, 400.0), points=False)
    (20.0, 10.0, 40.0, 30.0)
    """

    format: str = "auto"
    width: float | None = None
    height: float | None = None

    def __post_init__(self) -> None:
        if self.format not in BOX_FORMATS:
            raise ValueError(f"box format {self.format!r}: expected one of {', '.join(BOX_FORMATS)}")
        if self.format == "pixels":
            sizes = (self.width, self.height)
            if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in sizes):
                raise ValueError(f"box format 'pixels' needs the image's width and height (positive numbers), got {sizes}")

    def to_frame(self, values: tuple[float, ...], *, points: bool, written: tuple[str, ...] = ()) -> tuple[float, ...]:
        """Four raw numbers as ``(x1, y1, x2, y2)`` in the 0–100 frame, before clipping.

        ``points`` marks Qwen-VL ``(x, y), (x, y)`` pairs, whose order is explicit (and whose
        ``auto`` frame is 0–1000); ``written`` the numbers as written (``auto``'s 0–1 rule).
        """
        if self.format == "auto":
            return _scale(values, QWEN_FRAME if points else None, written)
        if self.format == "gemini" and not points:
            values = (values[1], values[0], values[3], values[2])
        if self.format in ("0-1000", "gemini"):
            return tuple(v * FRAME / QWEN_FRAME for v in values)
        if self.format == "pixels":
            assert self.width is not None and self.height is not None
            return (
                values[0] * FRAME / self.width,
                values[1] * FRAME / self.height,
                values[2] * FRAME / self.width,
                values[3] * FRAME / self.height,
            )
        return values


#: Today's rules; what every parser uses unless a run names a format.
AUTO = BoxFrame()


@dataclass(frozen=True)
class _Token:
    """One recognised piece of an answer: a label tag (``tag``), or boxes with the label they carry (JSON's ``label``)."""

    start: int
    end: int
    label: str | None
    boxes: tuple[FrameBox, ...]
    tag: bool = False


def _scale(values: tuple[float, ...], frame: float | None, written: tuple[str, ...]) -> tuple[float, ...]:
    """Bring raw numbers into the 0–100 frame (rule 1 of the module docstring)."""
    if frame is not None:
        return tuple(v * FRAME / frame for v in values)
    if all(0.0 <= v <= 1.0 for v in values) and any("." in w for w in written):
        return tuple(v * FRAME for v in values)
    return values


def _finish_box(written: tuple[str, ...], frame: BoxFrame = AUTO, *, points: bool = False) -> FrameBox | None:
    """Scale, clip and order one box; ``None`` when it has no area (rules 1–4)."""
    values = tuple(float(w) for w in written)
    scaled = frame.to_frame(values, points=points, written=written)
    clipped = [min(max(v, 0.0), FRAME) if not math.isnan(v) else 0.0 for v in scaled]
    x1, x2 = sorted((clipped[0], clipped[2]))
    y1, y2 = sorted((clipped[1], clipped[3]))
    if x2 <= x1 or y2 <= y1:
        return None
    return (x1, y1, x2, y2)


def _tag_text(match: re.Match[str]) -> str:
    """The stripped text of whichever label tag matched."""
    texts = (match.group("p_text"), match.group("ref_text"), match.group("qref_text"))
    return next(t for t in texts if t is not None).strip()


def _json_label(text: str) -> str | None:
    """The ``label`` of a JSON box object, unescaped; ``None`` without one."""
    match = _JSON_LABEL_RE.search(text)
    if match is None:
        return None
    if match.group(2) is not None:
        return match.group(2).strip() or None
    try:
        label = json.loads(f'"{match.group(1)}"')
    except json.JSONDecodeError:
        label = match.group(1)
    return label.strip() or None


def _tokens(text: str, frame: BoxFrame = AUTO) -> list[_Token]:
    """Every label tag and box group of ``text``, in reading order."""
    tokens: list[_Token] = []
    for match in _TOKEN_RE.finditer(text):
        if match.group("label") is not None:
            tokens.append(_Token(match.start(), match.end(), _tag_text(match), (), tag=True))
            continue
        label = None
        if match.group("angle") is not None:
            boxes = [_finish_box(q.groups(), frame) for q in _QUAD_RE.finditer(match.group("angle"))]
        elif match.group("qwen") is not None:
            pairs = _QWEN_PAIRS_RE.search(match.group("qwen"))
            boxes = [_finish_box(pairs.groups(), frame, points=True)] if pairs else []
        elif match.group("json") is not None:
            numbers = _JSON_BOX_RE.search(match.group("json"))
            boxes = [_finish_box(numbers.groups(), frame)] if numbers else []
            label = _json_label(match.group("json"))
        else:
            numbers = _LIST_RE.fullmatch(match.group("list"))
            boxes = [_finish_box(numbers.groups(), frame)] if numbers else []
        tokens.append(_Token(match.start(), match.end(), label, tuple(b for b in boxes if b is not None)))
    return tokens


def parse_boxes(text: str, frame: BoxFrame = AUTO) -> list[LabelledBox]:
    """All boxes in a model answer as ``(label, (x1, y1, x2, y2))`` in the 0–100 frame.

    See the module docstring for the accepted notations, the scale/clip/order rules and the
    native formats a ``frame`` names.

    >>> parse_boxes("<p>1 light purple brick</p>{<57><15><82><35>}")
    [('1 light purple brick', (57.0, 15.0, 82.0, 35.0))]
    >>> parse_boxes("It is at [0.2, 0.61, 0.3, 0.78] and (120, 61, 30, 78).")
    [(None, (20.0, 61.0, 30.0, 78.0)), (None, (30.0, 61.0, 100.0, 78.0))]
    >>> parse_boxes('[{"bbox_2d": [100, 50, 300, 150], "label": "red brick"}]', BoxFrame("pixels", 1000, 500))
    [('red brick', (10.0, 10.0, 30.0, 30.0))]
    """
    if not isinstance(text, str):
        return []
    found: list[LabelledBox] = []
    previous: _Token | None = None
    for token in _tokens(text, frame):
        if not token.tag:
            attached = previous is not None and previous.tag and _LABEL_GAP_RE.fullmatch(text, previous.end, token.start) is not None
            label = token.label if token.label is not None else previous.label if attached and previous is not None else None
            found.extend((label, box) for box in token.boxes)
        previous = token
    return found


def parse_object_label(text: str) -> str:
    """The object an answer names: the first ``<p>…</p>`` (or ``<ref>…</ref>``) text, stripped.

    Without a tag, the ``label`` of the first JSON box object; else the whole answer minus any box
    notation (its coordinates name no object and could spuriously match numeric entity words).

    >>> parse_object_label("<p>2 red bricks 1x2</p>{<1><2><30><40>}")
    '2 red bricks 1x2'
    >>> parse_object_label("red bricks [10, 20, 30, 40]")
    'red bricks'
    >>> parse_object_label('```json [{"bbox_2d": [1, 2, 30, 40], "label": "2 red bricks"}] ```')
    '2 red bricks'
    """
    if not isinstance(text, str):
        return ""
    tag = _LABEL_TAG_RE.search(text)
    if tag is not None:
        return _tag_text(tag)
    tokens = _tokens(text)
    labelled = next((token.label for token in tokens if not token.tag and token.label is not None), None)
    if labelled is not None:
        return labelled
    pieces: list[str] = []
    cursor = 0
    for token in tokens:
        pieces.append(text[cursor : token.start])
        cursor = token.end
    pieces.append(text[cursor:])
    return " ".join(" ".join(pieces).split())


def _polarity(word: str) -> bool | None:
    """True for a yes word, False for a no word, None for any other word."""
    return True if word in YES_WORDS else False if word in NO_WORDS else None


#: A reasoning model's closing think tag; the verdict is read after the last one.
_THINK_CLOSE_RE = re.compile(r"</\s*think\s*>", re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<\s*think\s*>", re.IGNORECASE)
#: "Answer:", "**Final answer**:", "Verdict -": a chat model's label for its verdict after an explanation.
_ANSWER_MARK_RE = re.compile(r"\b(?:final\s+)?(?:answer|verdict)\b[*_\s]*[:\uff1a-]", re.IGNORECASE)


def verdict_parts(text: str) -> list[str]:
    """Where a chat model's verdict is, most specific first: after the last ``answer:`` marker, then
    the whole reply; both after the last ``</think>`` (the reasoning before it is not the verdict).

    A ``<think>`` block that never closes (the model ran out of tokens while thinking) holds no
    verdict: the result is empty. Linear time: each regex scans the text once.

    >>> verdict_parts("<think>Yes? Or no.</think> The brick is off. Answer: **No.**")
    [' **No.**', ' The brick is off. Answer: **No.**']
    >>> verdict_parts("<think>Let me look")
    []
    """
    closes = [m.end() for m in _THINK_CLOSE_RE.finditer(text)]
    if closes:
        text = text[closes[-1] :]
    elif _THINK_OPEN_RE.search(text):
        return []
    marks = [m.end() for m in _ANSWER_MARK_RE.finditer(text)]
    return [text[marks[-1] :], text] if marks else [text]


def _sentences(text: str) -> list[list[str]]:
    """Each sentence of ``text`` as its casefolded words (``/`` a word of its own)."""
    return [_WORD_RE.findall(unicodedata.normalize("NFKC", sentence).casefold()) for sentence in _SENTENCE_END_RE.split(text)]


def _yes_no_words(sentences: list[list[str]]) -> bool | None:
    for words in sentences:
        polarities = [p for p in map(_polarity, words) if p is not None]
        if not polarities:
            continue
        leading = _polarity(words[0])
        if leading is not None:
            hedged = len(words) >= 3 and words[1] in _HEDGE_WORDS and _polarity(words[2]) is (not leading)
            return None if hedged else leading
        return polarities[0] if len(set(polarities)) == 1 else None
    return None


#: Words that judge the assembly when a reply says neither yes nor no ("I think it is correct.").
#: "right" is left out: it names a side far more often than a judgement in assembly answers.
CORRECT_WORDS = frozenset({"correct", "correctly", "properly", "accurate", "accurately", "fine"})
INCORRECT_WORDS = frozenset({"incorrect", "incorrectly", "wrong", "wrongly", "improperly", "inaccurate", "mistake", "mistaken"})
#: Words that flip a judgement after them in its sentence ("not correct"; "isn't" splits into ``isn`` + ``t``).
NEGATION_WORDS = frozenset({"not", "t", "never", "cannot", "nor"})


def _judgement_words(sentences: list[list[str]]) -> bool | None:
    for words in sentences:
        found: set[bool] = set()
        negations = 0
        for word in words:
            if word in NEGATION_WORDS:
                negations += 1
            elif word in CORRECT_WORDS or word in INCORRECT_WORDS:
                found.add((word in CORRECT_WORDS) != (negations % 2 == 1))
        if found:
            return found.pop() if len(found) == 1 else None
    return None


def parse_yes_no(text: str) -> bool | None:
    """Read a yes/no verdict: ``True`` for yes, ``False`` for no, ``None`` when there is none.

    Where: after the last ``</think>``, and after the last ``answer:`` marker when that part holds
    a verdict (:func:`verdict_parts`); markdown emphasis (``**No.**``) is ignored. Then:

    1. Find the first sentence (split at ``. ! ? ;`` and newlines) that contains a verdict word
       (yes/yeah/yep/yup, no/nope; whole words, any case).

       - If the sentence *starts* with the word, that word decides ("No, it is not." → False;
         "Yes, there is no gap." → True), unless ``and``/``or``/``/`` and the opposite word follow
         it directly ("yes and no", "Yes or No?", "yes/no" → None).
       - Otherwise the sentence decides if it holds only one polarity ("The answer is yes" → True);
         both polarities in it ("There is no gap, so yes") → None.

    2. Without any verdict word, the first sentence that judges the work decides: "correct",
       "properly", … are yes and "wrong", "incorrect", "mistake", … no, each flipped by an odd
       number of negations before it in its sentence ("It is not correct." → False); a sentence
       judging both ways ("correct, but the colour is wrong") → None.

    Answers with neither ("maybe", "I don't know", "") are ``None`` (invalid).

    >>> parse_yes_no("Yes! The red brick is on top.")
    True
    >>> parse_yes_no("yes and no") is None
    True
    >>> parse_yes_no("<think>Is it yes? The stud is off.</think>**No.**"), parse_yes_no("I think it is correct.")
    (False, True)
    """
    if not isinstance(text, str):
        return None
    for part in verdict_parts(text):
        sentences = _sentences(part)
        verdict = _yes_no_words(sentences)
        if verdict is None:
            verdict = _judgement_words(sentences)
        if verdict is not None:
            return verdict
    return None


#: Words of an order verdict (the ``order`` task): attached means the part was added between the frames.
ATTACHED_WORDS = frozenset({"attached", "attach", "added", "add", "placed", "put"})
REMOVED_WORDS = frozenset({"removed", "remove", "detached", "detach", "taken", "took"})


def parse_attached_removed(text: str) -> bool | None:
    """Read an order verdict: ``True`` for attached, ``False`` for removed, ``None`` when there is none.

    Read where :func:`parse_yes_no` reads (after ``</think>``, after an ``answer:`` marker). The
    first sentence that holds a verdict word decides, if it holds only one polarity ("It was
    attached." → True); both in it ("attached or removed") → ``None``, like a hedged yes/no.

    >>> parse_attached_removed("Attached."), parse_attached_removed("It was removed"), parse_attached_removed("Attached or Removed?")
    (True, False, None)
    """
    if not isinstance(text, str):
        return None
    for part in verdict_parts(text):
        for sentence in _sentences(part):
            words = set(sentence)
            attached, removed = bool(words & ATTACHED_WORDS), bool(words & REMOVED_WORDS)
            if attached or removed:
                return None if attached and removed else attached
    return None
