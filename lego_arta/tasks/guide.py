"""``guide``: the assistant's whole loop, one episode per state: is it right, which piece, how to fix it.

The study's closing chapter describes an assistant as a chain (state detection, then the wrong
piece, then the corrective step) and finds that models answer multi-round prompts with scene
descriptions. Render-true negatives come from the synthetic 3D plan, so for each of them the wrong
part, where it is and the exact correction are known; this task asks that chain turn by turn.

**The episode.** One per state: its real step image (a positive) and each of its negatives.

======  ================================================  =====================================================
turn    question                                          answer
======  ================================================  =====================================================
1       the state question (``[state] After I find …``)   ``Yes.`` / ``No.``
2 (No)  :data:`WHERE_QUESTION`                             ``<p>phrase</p>{<x1><y1><x2><y2>}``: the wrong part's box
                                                          in the 0–100 frame (``missing``/``undo``: where it belongs)
3 (No)  :data:`FIX_QUESTION`                               the correction (:func:`correction`)
2 (Yes) :data:`NEXT_QUESTION`                              the next assembly step's instruction
======  ================================================  =====================================================

**Rows.** One row per turn; ``history`` holds the earlier turns (gold answers), which the harness
sends as user/assistant messages before the row's ``query`` (one lmms-eval request per turn).
Rows of one episode share ``episode``; ``turns`` counts them. Pasted negatives (crawled manuals,
``displaced``: no 3D truth) give turns 1–2 only, the box from the pasted item.

**The fix grammar** (what :func:`correction` writes and :func:`parse_fix` reads):

==============  =======================================================================
error           correction
==============  =======================================================================
shifted         ``Move it 2 studs to the left.`` (left/right, front/back; several joined by "and")
wrong_layer     ``Move it 1 level down.`` (a level is the part's own height; else ``N plates``)
rotated         ``Turn it a quarter turn.`` (the turned part keeps its front-left corner)
wrong_colour    ``Swap it for a sand green one.``
wrong_size      ``Replace it with a brick 2x3.`` (the new part keeps its front-left corner)
missing         the step's own line for the part (``Put the … on the …``), else ``Add the <part>.``
undo            the step's own instruction
==============  =======================================================================

A correction may chain clauses (``Replace it with a plate 1x3, then move it 1 stud to the back.``).
Every generated correction passes the **geometry check** before it becomes a row: parsed back and
applied to the wrong part, it must give the true part (for ``missing``/``undo``: name the true
parts); one that fails is a counted skip, never a row.

>>> true = Part("brick", 2, 4, "bright red", 2, 0, 1, True, "brick 2x4", 3)
>>> wrong = Part("brick", 2, 4, "bright red", 4, 1, 1, True, "brick 2x4", 3)
>>> correction("shifted", wrong, (true,))
'Move it 2 studs to the left and 1 stud to the front.'
>>> parse_fix("Shift it two studs left, then one stud towards you.").operation
'move'
>>> fix_is_right("Slide it 2 studs to the left and 1 stud forward.", "shifted", wrong, (true,))
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from datasets import Value

from lego_arta.answers import parse_yes_no
from lego_arta.metrics.bootstrap import SampleStats, ratio
from lego_arta.metrics.boxes import box_iou, first_box
from lego_arta.metrics.entities import t_acc_stats
from lego_arta.metrics.registry import Metric, register_metric
from lego_arta.metrics.text import bleu_stats, rouge1_per_sample
from lego_arta.palette import COLOURS
from lego_arta.tasks.floors import Floor, FloorRows, constant, nearest_train_answer
from lego_arta.tasks.prompts import NUMBER_WORDS, Query, answer_box, finding_line, found_phrase, load_prompts, strip_final_punctuation
from lego_arta.tasks.scene import scored_entities
from lego_arta.tasks.spec import ErrorTruth, List, OwnHistory, PairContext, Part, Respond, TaskSpec
from lego_arta.tasks.state import state_negatives

#: Turn 1 is the state question, word for word.
PROMPTS = load_prompts("state")
WHERE_QUESTION = (
    "Which piece is wrong? Mark it as <p>piece</p>{<Xleft><Ytop><Xright><Ybottom>}, with X and Y coordinates normalized to [0,100]."
)
FIX_QUESTION = "How do I fix it?"
NEXT_QUESTION = "What do I do next?"
VERDICT, WHERE, FIX, NEXT = "verdict", "where", "fix", "next"
TURN_QUESTIONS: dict[str, str] = {WHERE: WHERE_QUESTION, FIX: FIX_QUESTION, NEXT: NEXT_QUESTION}
#: ``error_kind`` of a positive episode.
NO_ERROR = "none"
#: The error taxonomy the field uses (position, orientation, wrong part, omission), per negative kind.
ERROR_TYPES: dict[str, str] = {
    "shifted": "position",
    "wrong_layer": "position",
    "displaced": "position",
    "rotated": "orientation",
    "wrong_size": "wrong_part",
    "wrong_colour": "wrong_part",
    "missing": "omission",
    "undo": "omission",
    NO_ERROR: "correct",
}
TAXONOMY: tuple[str, ...] = ("position", "orientation", "wrong_part", "omission", "correct")
OMISSIONS = frozenset({"missing", "undo"})
#: The operation a right correction of each render-true kind performs (:attr:`Fix.operation`).
OPERATIONS: dict[str, str] = {
    "shifted": "move",
    "wrong_layer": "move",
    "rotated": "turn",
    "wrong_colour": "recolour",
    "wrong_size": "replace",
    "missing": "add",
    "undo": "add",
}

# --- the fix grammar ------------------------------------------------------------------------------

#: The manuals' names of the part kinds and their heights in plates (the generator's world frame).
KIND_NAMES: dict[str, str] = {"brick": "brick", "plate": "plate", "tile": "flat tile"}
KIND_HEIGHTS: dict[str, int] = {"brick": 3, "plate": 1, "tile": 1}
#: Direction words → unit move (x right, y back, z up).
DIRECTIONS: dict[str, tuple[int, int, int]] = {
    "left": (-1, 0, 0),
    "leftwards": (-1, 0, 0),
    "right": (1, 0, 0),
    "rightwards": (1, 0, 0),
    "front": (0, -1, 0),
    "forward": (0, -1, 0),
    "forwards": (0, -1, 0),
    "towards you": (0, -1, 0),
    "toward you": (0, -1, 0),
    "back": (0, 1, 0),
    "backward": (0, 1, 0),
    "backwards": (0, 1, 0),
    "away from you": (0, 1, 0),
    "rear": (0, 1, 0),
    "up": (0, 0, 1),
    "upward": (0, 0, 1),
    "upwards": (0, 0, 1),
    "higher": (0, 0, 1),
    "raise": (0, 0, 1),
    "down": (0, 0, -1),
    "downward": (0, 0, -1),
    "downwards": (0, 0, -1),
    "lower": (0, 0, -1),
}
#: Units: studs move along x/y; plates, bricks (3 plates) and levels (the part's own height) along z.
UNITS: dict[str, str] = {
    "stud": "stud",
    "studs": "stud",
    "plate": "plate",
    "plates": "plate",
    "brick": "brick",
    "bricks": "brick",
    "level": "level",
    "levels": "level",
    "layer": "level",
    "layers": "level",
}
ADD_VERBS = ("add", "put", "place", "attach", "mount", "press", "insert", "stack", "fit")
REPLACE_VERBS = ("replace", "swap", "exchange", "change", "switch", "use")

_NUMBER = r"(?P<n{i}>\d+|a single|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
_UNIT = r"(?P<u{i}>studs?|plates?|bricks?|levels?|layers?)"
_DIR = r"(?P<d{i}>" + "|".join(sorted((re.escape(d) for d in DIRECTIONS), key=len, reverse=True)) + r")"
_MOVE = re.compile(
    r"\b"
    + _NUMBER.format(i=1)
    + r"\s+"
    + _UNIT.format(i=1)
    + r"\s+(?:(?:to|towards?)\s+the\s+|to\s+|further\s+|more\s+)?"
    + _DIR.format(i=1)
    + r"\b"
    + r"|\b"
    + _DIR.format(i=2)
    + r"\s+(?:(?:it|the piece|the part)\s+)?(?:by\s+)?"
    + _NUMBER.format(i=2)
    + r"\s+"
    + _UNIT.format(i=2)
    + r"\b"
)
_TURN = re.compile(r"\b(?:turn|turning|rotate|rotating|twist)\b|quarter[- ]turn|\b90\s*(?:°|degrees?)")
_SHAPE = re.compile(r"\b(brick|plate|flat tile|tile)s?\s+(\d+)\s*x\s*(\d+)\b")
_COLOUR = re.compile(r"\b(" + "|".join(sorted((re.escape(c.name) for c in COLOURS), key=len, reverse=True)) + r")\b")
_REPLACE = re.compile(r"\b(" + "|".join(REPLACE_VERBS) + r")\b")
_REPLACEMENT_TAIL = re.compile(r"\b(?:with|for|by|into|to|use)\b")
_ADD = re.compile(r"^\s*(?:now,?\s*|then,?\s*|please,?\s*)?(" + "|".join(ADD_VERBS) + r")\b")
_PREPOSITION = re.compile(r"\b(?:on|onto|on top of|at|to|into|next to)\b")

#: A named part of an ``add`` fix: (colour or None, kind, short, long).
NamedPart = tuple[str | None, str, int, int]


@dataclass(frozen=True)
class Fix:
    """A correction read back: its ``operation`` (``move``, ``turn``, ``recolour``, ``replace``,
    ``add``) and what it says. ``dx``/``dy`` in studs, ``dz`` in plates, ``levels`` in the part's own
    height; ``colour``/``shape`` the replacement (``shape``: kind, short, long); ``parts`` the parts
    an ``add`` names."""

    operation: str
    dx: int = 0
    dy: int = 0
    dz: int = 0
    levels: int = 0
    turn: bool = False
    colour: str | None = None
    shape: tuple[str, int, int] | None = None
    parts: tuple[NamedPart, ...] = ()


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("×", "x").replace("’", "'").split())


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _moves(text: str) -> tuple[int, int, int, int] | None:
    """Summed ``(dx, dy, dz in plates, levels)`` of the move clauses; ``None`` for a unit that
    cannot go that way ("1 stud up")."""
    dx = dy = dz = levels = 0
    for match in _MOVE.finditer(text):
        i = 1 if match.group("n1") else 2
        amount, unit, (ux, uy, uz) = _number(match.group(f"n{i}")), UNITS[match.group(f"u{i}")], DIRECTIONS[match.group(f"d{i}")]
        if (unit == "stud") != (uz == 0):
            return None
        dx, dy = dx + ux * amount, dy + uy * amount
        if unit == "level":
            levels += uz * amount
        else:
            dz += uz * amount * (KIND_HEIGHTS["brick"] if unit == "brick" else 1)
    return dx, dy, dz, levels


def _shape(match: re.Match[str]) -> tuple[str, int, int]:
    kind = "tile" if "tile" in match.group(1) else match.group(1)
    a, b = int(match.group(2)), int(match.group(3))
    return kind, min(a, b), max(a, b)


def _added_parts(text: str) -> tuple[NamedPart, ...] | None:
    """The part each add sentence names before its first preposition (``None`` when none does)."""
    parts: list[NamedPart] = []
    for sentence in re.split(r"[.;!]\s*|\bthen\b", text):
        if not _ADD.match(sentence):
            continue
        head = _PREPOSITION.split(sentence, maxsplit=1)[0]
        shape = _SHAPE.search(head)
        if shape is None:
            continue
        colour = _COLOUR.search(head[: shape.start()])
        parts.append((colour.group(1) if colour else None, *_shape(shape)))
    return tuple(parts) or None


def parse_fix(text: str) -> Fix | None:
    """Read a correction (see the module docstring for the grammar); ``None`` when it says no fix
    this grammar knows. Paraphrases read the same: number words, "shift/slide", "rotate by 90
    degrees", "exchange it for", "towards you" (front), "lower it by one level".

    >>> parse_fix("Move it 2 studs to the left.")
    Fix(operation='move', dx=-2, dy=0, dz=0, levels=0, turn=False, colour=None, shape=None, parts=())
    >>> parse_fix("Swap it for a sand green one.").colour, parse_fix("Replace it with a brick 2x3.").shape
    ('sand green', ('brick', 2, 3))
    >>> parse_fix("It looks great.") is None
    True
    """
    text = _normalise(text)
    moves = _moves(text)
    if moves is None:
        return None
    dx, dy, dz, levels = moves
    turned = bool(_TURN.search(text))
    verb = _REPLACE.search(text)
    if verb is not None:
        rest = text[verb.end() :]
        tail = _REPLACEMENT_TAIL.search(rest) if verb.group(1) != "use" else None
        rest = rest[tail.end() :] if tail else rest
        rest = _MOVE.split(rest, maxsplit=1)[0] if _MOVE.search(rest) else rest
        colour, shape = _COLOUR.search(rest), _SHAPE.search(rest)
        if colour or shape:
            return Fix(
                "replace" if shape else "recolour",
                dx,
                dy,
                dz,
                levels,
                turned,
                colour.group(1) if colour else None,
                _shape(shape) if shape else None,
            )
    if turned or (dx, dy, dz, levels) != (0, 0, 0, 0):
        return Fix("turn" if turned else "move", dx, dy, dz, levels, turned)
    parts = _added_parts(text)
    return Fix("add", parts=parts) if parts else None


def part_key(part: Part) -> tuple[Any, ...]:
    """What makes two placements the same: kind, size, colour, corner and footprint (a square part
    has no orientation)."""
    return part.kind, part.short, part.long, part.colour, part.x, part.y, part.z, part.size_x, part.size_y


def apply_fix(fix: Fix, wrong: Part) -> Part:
    """The part after the correction: replaced (same front-left corner and orientation), turned a
    quarter turn (same front-left corner), then moved."""
    kind, short, long = fix.shape or (wrong.kind, wrong.short, wrong.long)
    height = KIND_HEIGHTS[kind]
    along_x = not wrong.along_x if fix.turn else wrong.along_x
    return Part(
        kind,
        short,
        long,
        fix.colour or wrong.colour,
        wrong.x + fix.dx,
        wrong.y + fix.dy,
        wrong.z + fix.dz + fix.levels * height,
        along_x,
        f"{KIND_NAMES[kind]} {short}x{long}",
        height,
    )


def names_parts(named: Sequence[NamedPart], true: Sequence[Part]) -> bool:
    """Whether the named parts cover the true ones: each true part matched by a distinct named part of
    its kind and size, whose colour, when named, is its colour."""
    left = list(named)
    for part in true:
        match = next((n for n in left if n[1:] == (part.kind, part.short, part.long) and n[0] in (None, part.colour)), None)
        if match is None:
            return False
        left.remove(match)
    return True


def fix_is_right(answer: str, kind: str, wrong: Part | None, true: Sequence[Part]) -> bool:
    """Whether ``answer`` corrects the error: read by :func:`parse_fix` and applied to the wrong part,
    it gives the true part; for an omission, it adds (names) the missing part(s)."""
    fix = parse_fix(answer) if isinstance(answer, str) else None
    if fix is None or not true:
        return False
    if kind in OMISSIONS:
        return fix.operation == "add" and names_parts(fix.parts, true)
    return wrong is not None and fix.operation != "add" and part_key(apply_fix(fix, wrong)) == part_key(true[0])


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _count(amount: int, unit: str) -> str:
    return f"{amount} {unit}" if amount == 1 else f"{amount} {unit}s"


def _move_clause(dx: int, dy: int, dz: int, height: int) -> str | None:
    pieces = []
    if dz:
        vertical = "up" if dz > 0 else "down"
        amount = abs(dz)
        pieces.append(
            f"{_count(amount // height, 'level')} {vertical}" if amount % height == 0 else f"{_count(amount, 'plate')} {vertical}"
        )
    if dx:
        pieces.append(f"{_count(abs(dx), 'stud')} to the {'right' if dx > 0 else 'left'}")
    if dy:
        pieces.append(f"{_count(abs(dy), 'stud')} to the {'back' if dy > 0 else 'front'}")
    return "move it " + " and ".join(pieces) if pieces else None


def correction(kind: str, wrong: Part | None, true: Sequence[Part], step_lines: Sequence[str] = ()) -> str:
    """The corrective instruction for an error, in the manuals' style, from the 3D difference
    between the wrong and the true placement (see the module docstring's table).

    >>> tile = Part("tile", 1, 2, "sand green", 0, 0, 1, True, "flat tile 1x2", 1)
    >>> correction("wrong_colour", replace(tile, colour="bright red"), (tile,))
    'Swap it for a sand green one.'
    >>> correction("rotated", replace(tile, along_x=False), (tile,))
    'Turn it a quarter turn.'
    >>> correction("undo", None, (tile,), ["Put the sand green flat tile 1x2 on the plate 4x6, in the centre."])
    'Put the sand green flat tile 1x2 on the plate 4x6, in the centre.'
    """
    if kind == "undo":
        return " ".join(step_lines)
    target = true[0]
    if kind == "missing" or wrong is None:
        own = next(
            (line for line in reversed(step_lines) if (f := parse_fix(line)) and f.operation == "add" and names_parts(f.parts, [target])),
            None,
        )
        return own or f"Add the {target.colour} {target.name}."
    clauses = []
    current = wrong
    if (wrong.kind, wrong.short, wrong.long) != (target.kind, target.short, target.long):
        clauses.append(f"replace it with {_article(target.name)} {target.name}")
        current = apply_fix(Fix("replace", shape=(target.kind, target.short, target.long)), current)
    if current.colour != target.colour:
        clauses.append(f"swap it for {_article(target.colour)} {target.colour} one")
        current = replace(current, colour=target.colour)
    if (current.size_x, current.size_y) != (target.size_x, target.size_y):
        clauses.append("turn it a quarter turn")
        current = apply_fix(Fix("turn", turn=True), current)
    move = _move_clause(target.x - current.x, target.y - current.y, target.z - current.z, target.height)
    if move:
        clauses.append(move)
    text = ", then ".join(clauses)
    return text[:1].upper() + text[1:] + "."


# --- the episodes ---------------------------------------------------------------------------------

PART_FEATURE: dict[str, Any] = {
    "kind": Value("string"),
    "short": Value("int32"),
    "long": Value("int32"),
    "colour": Value("string"),
    "x": Value("int32"),
    "y": Value("int32"),
    "z": Value("int32"),
    "along_x": Value("bool"),
    "name": Value("string"),
    "height": Value("int32"),
}


def _part_record(part: Part) -> dict[str, Any]:
    return {name: getattr(part, name) for name in PART_FEATURE}


def as_part(value: Any) -> Part:
    """A part from a row's column (a dict) or a :class:`Part`."""
    return value if isinstance(value, Part) else Part(**{name: value[name] for name in PART_FEATURE})


def _episode_id(*parts: object) -> str:
    """Opaque id shared by an episode's rows: it reveals neither the verdict nor the error."""
    return hashlib.sha256("|".join(map(str, ("guide-episode", *parts))).encode("utf-8")).hexdigest()[:20]


def where_answer(phrase: str, box: Sequence[float]) -> str:
    x1, y1, x2, y2 = answer_box(box)
    return f"<p>{phrase}</p>{{<{x1}><{y1}><{x2}><{y2}>}}"


@dataclass(frozen=True)
class Turn:
    name: str
    answer: str
    columns: Mapping[str, Any]


def _episode_rows(
    ctx: PairContext, step: Any, first: Query, image: bytes, variant: str, turns: Sequence[Turn], common: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of one episode: turn 1 asks ``first``; each later turn carries the gold history."""
    history: list[dict[str, str]] = []
    rows = []
    defaults = {"box": [], "wrong": [], "true_parts": [], "entities": []}
    for turn in turns:
        query = first if turn.name == VERDICT else Query("", "", TURN_QUESTIONS[turn.name])
        columns = {**defaults, **common, **turn.columns, "turn": turn.name, "turns": len(turns), "history": list(history)}
        rows.append(ctx.row(step, query, turn.answer, f"{variant}-{turn.name}", image, **columns))
        history.append({"query": query.text, "answer": turn.answer})
    return rows


def _negative_turns(ctx: PairContext, step: Any, line: Any, truth: ErrorTruth) -> list[Turn] | str:
    """Turns 1–3 of a render-true negative (1–2 of a pasted one), or why the episode is not made."""
    if truth.wrong is not None:
        phrase = f"{truth.wrong.colour} {truth.wrong.name}"
    elif truth.true:
        phrase = " and ".join(f"{p.colour} {p.name}" for p in truth.true)
    else:
        phrase = found_phrase(line)
    turns = [Turn(VERDICT, PROMPTS.answer("no"), {}), Turn(WHERE, where_answer(phrase, truth.box), {"box": list(answer_box(truth.box))})]
    if not truth.true:
        return turns
    fix = correction(truth.kind, truth.wrong, truth.true, [text_line.text for text_line in step.lines])
    if not fix_is_right(fix, truth.kind, truth.wrong, truth.true):
        return "guide: correction failed the geometry check"
    parts = {"wrong": [_part_record(truth.wrong)] if truth.wrong else [], "true_parts": [_part_record(p) for p in truth.true]}
    return [*turns, Turn(FIX, fix, parts)]


def make_pairs(ctx: PairContext) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    previous: dict[str, Any] = {}
    assembly = ctx.assembly_rows()
    for index, (step, eop) in enumerate(assembly):
        before = previous.get(step.session)
        previous[step.session] = step
        colour, decoded = ctx.boundary_colour(step.session)
        line = finding_line(eop.lines) if eop is not None else None
        reason = (
            (None if decoded else "guide: step of a session with an undecodable assembly image")
            or (None if colour is not None else "guide: session without a highlight (boundary) colour")
            or (None if line is not None else "guide: assembly step without a preceding object-finding step")
            or (None if before is not None else "guide: first assembly step of a session (no previous assembly image)")
        )
        if reason:
            ctx.skip(reason)
            continue
        result = state_negatives(ctx, step, before, colour, "guide")
        if result is None:
            continue
        image = ctx.png(ctx.image(step))
        query = PROMPTS.query(found=found_phrase(line), instruction=strip_final_punctuation(step.text))
        common = {"label": True, "error_kind": NO_ERROR, "error_type": ERROR_TYPES[NO_ERROR]}
        seed = ctx.recipe.seed
        if index + 1 < len(assembly):
            following = assembly[index + 1][0]
            turns = [Turn(VERDICT, PROMPTS.answer("yes"), {}), Turn(NEXT, following.text, {"entities": scored_entities(following.lines)})]
            episode = _episode_id(ctx.manual.manual_id, step.session, step.step_num, "positive", seed)
            rows += _episode_rows(ctx, step, query, image, "positive", turns, {**common, "episode": episode})
        else:
            ctx.skip("guide: positive of the manual's last assembly step (no next step)")
        for number, negative in enumerate(result.negatives):
            truth = ctx.error_truth(step, negative)
            turns_or_reason = truth if isinstance(truth, str) else _negative_turns(ctx, step, line, truth)
            if isinstance(turns_or_reason, str):
                ctx.skip(turns_or_reason if turns_or_reason.startswith("guide") else f"guide: {turns_or_reason}")
                continue
            variant = f"{negative.kind}-{number}"
            episode = _episode_id(ctx.manual.manual_id, step.session, step.step_num, variant, seed)
            common = {"label": False, "error_kind": negative.kind, "error_type": ERROR_TYPES[negative.kind], "episode": episode}
            rows += _episode_rows(ctx, step, query, ctx.png(negative.image, like=step), variant, turns_or_reason, common)
    return rows


# --- metrics --------------------------------------------------------------------------------------


def _turn_mask(targets: Sequence[Any], turn: str) -> np.ndarray:
    return np.array([t[0] == turn for t in targets], dtype=bool)


def verdict_right(answer: str, label: bool) -> bool:
    said = parse_yes_no(answer) if isinstance(answer, str) else None
    return said is not None and said == bool(label)


def _verdict_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    """Confusion counts (tp, fp, fn, tn) of the verdict turns; other turns weigh nothing."""
    rows = np.zeros((len(answers), 4))
    for i, (answer, (turn, label)) in enumerate(zip(answers, targets, strict=True)):
        if turn == VERDICT:
            said = parse_yes_no(answer) if isinstance(answer, str) else None
            right = said is not None and said == bool(label)
            rows[i, (0 if right else 2) if label else (3 if right else 1)] = 1.0

    def balanced(s: np.ndarray) -> float:
        recalls = [ratio(hit, hit + miss) for hit, miss in ((s[0], s[2]), (s[3], s[1])) if hit + miss]
        return float(np.mean(recalls)) if recalls else 0.0

    return SampleStats(rows, balanced)


def where_iou(answer: str, box: Sequence[float]) -> float:
    found = first_box(answer)
    return 0.0 if found is None or len(box) != 4 else 100.0 * box_iou(found, tuple(box))


#: IoU (in percent) from which a marked box counts as a hit.
HIT_IOU = 50.0


def _mean_over(answers: Sequence[str], targets: Sequence[Any], turn: str, value: Callable[[str, Any], float]) -> SampleStats:
    rows = np.zeros((len(answers), 2))
    for i, (answer, target) in enumerate(zip(answers, targets, strict=True)):
        if target[0] == turn:
            rows[i] = value(answer, target), 1.0
    return SampleStats(rows, lambda s: s[0] / s[1] if s[1] else 0.0)


def _iou_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    return _mean_over(answers, targets, WHERE, lambda a, t: where_iou(a, t[1]))


def _hit_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    return _mean_over(answers, targets, WHERE, lambda a, t: 100.0 * (where_iou(a, t[1]) >= HIT_IOU))


def _fix_right(answer: str, target: Any) -> bool:
    _, kind, wrong, true = target
    return fix_is_right(answer, kind, as_part(wrong[0]) if wrong else None, [as_part(p) for p in true])


def _fix_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    return _mean_over(answers, targets, FIX, lambda a, t: 100.0 * _fix_right(a, t))


def _rouge_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    mask = _turn_mask(targets, FIX)
    rows = np.zeros((len(answers), 2))
    if mask.any():
        chosen = [str(a) for a, m in zip(answers, mask) if m]
        rows[mask, 0] = rouge1_per_sample(chosen, [t[1] for t, m in zip(targets, mask) if m])
        rows[mask, 1] = 1.0
    return SampleStats(rows, lambda s: s[0] / s[1] if s[1] else 0.0)


def _embedded(
    answers: Sequence[str], targets: Sequence[Any], turn: str, stats: Callable[[list[str], list[Any]], SampleStats]
) -> SampleStats:
    """A corpus metric over one turn's rows, its statistics placed in the rows of that turn (zeros elsewhere)."""
    mask = _turn_mask(targets, turn)
    if not mask.any():
        return SampleStats(np.zeros((len(answers), 1)), lambda _s: 0.0)
    inner = stats([str(a) for a, m in zip(answers, mask) if m], [t[1] for t, m in zip(targets, mask) if m])
    rows = np.zeros((len(answers), inner.values.shape[1]))
    rows[mask] = inner.values
    return SampleStats(rows, inner.aggregate)


def _bleu_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    return _embedded(answers, targets, FIX, bleu_stats)


def _next_stats(answers: Sequence[str], targets: Sequence[Any]) -> SampleStats:
    return _embedded(answers, targets, NEXT, t_acc_stats)


#: Columns of the episode metrics, in the order their targets are zipped.
EPISODE_COLUMNS = ("turn", "episode", "turns", "label", "error_type", "box", "error_kind", "wrong", "true_parts", "entities")


def next_right(answer: str, entities: Sequence[str]) -> bool:
    """A next-step answer is right when it names every theme and colour phrase of the instruction."""
    stats = t_acc_stats([str(answer)], [list(entities)])
    return bool(stats.values[0, 1]) and bool(stats.values[0, 0] == stats.values[0, 1])


def turn_right(answer: str, target: Sequence[Any]) -> bool:
    """Whether one turn's answer is right (verdict read right; box hit; fix right; next step fully named)."""
    turn, _, _, label, _, box, kind, wrong, true, entities = target
    if turn == VERDICT:
        return verdict_right(answer, label)
    if turn == WHERE:
        return where_iou(answer, box) >= HIT_IOU
    if turn == FIX:
        return _fix_right(answer, (turn, kind, wrong, true))
    return next_right(answer, entities)


def _success_stats(answers: Sequence[str], targets: Sequence[Any], error_type: str | None = None) -> SampleStats:
    """Episodes whose every turn is right, counted once each on the row of their first turn (an
    episode's rows share a manual, so a resample by manual keeps them together)."""
    right: dict[str, bool] = {}
    for answer, target in zip(answers, targets, strict=True):
        right[target[1]] = right.get(target[1], True) and turn_right(answer, target)
    rows = np.zeros((len(answers), 2))
    for i, target in enumerate(targets):
        if target[0] == VERDICT and (error_type is None or target[4] == error_type):
            rows[i] = 100.0 * right[target[1]], 1.0
    return SampleStats(rows, lambda s: s[0] / s[1] if s[1] else 0.0)


def _per_sample_turn(answers: Sequence[str], targets: Sequence[Any]) -> list[bool]:
    return [bool(turn_right(a, t)) for a, t in zip(answers, targets, strict=True)]


def _metric(
    name: str,
    label: str,
    stats: Callable[[Sequence[str], Sequence[Any]], SampleStats],
    per_sample: Any = None,
    key: str | None = None,
    applies: Callable[[Sequence[Any]], bool] | None = None,
) -> Metric:
    per = per_sample or (lambda answers, targets: [float(v) for v in stats(answers, targets).values[:, 0]])
    return register_metric(Metric(name, label, True, lambda a, t: stats(a, t).score(), stats, per, key or name, applies))


def _asks(turn: str) -> Callable[[Sequence[Any]], bool]:
    """Whether the rows hold a ``turn`` (every metric's targets start with the turn): a metric of a
    turn the rows do not ask (no fix turn on a crawled build; a few rows of an lmms-eval ``--limit``)
    is absent, never 0.

    >>> _asks(FIX)([("verdict", True), ("where", (1, 2, 3, 4))])
    False
    """
    return lambda targets: any(target[0] == turn for target in targets)


def _has_episodes_of(error_type: str) -> Callable[[Sequence[Any]], bool]:
    """Whether the rows hold an episode of ``error_type`` (its verdict row): else its success is absent."""
    return lambda targets: any(target[0] == VERDICT and target[4] == error_type for target in targets)


def _success_of(error_type: str) -> Callable[[Sequence[str], Sequence[Any]], SampleStats]:
    return lambda answers, targets: _success_stats(answers, targets, error_type)


METRIC_COLUMNS: dict[str, Any] = {
    "guide_verdict_bacc": ("turn", "label"),
    "guide_iou": ("turn", "box"),
    "guide_hit_rate": ("turn", "box"),
    "guide_fix_acc": ("turn", "error_kind", "wrong", "true_parts"),
    "guide_fix_bleu": ("turn", "answer"),
    "guide_fix_rouge1": ("turn", "answer"),
    "guide_next_t_acc": ("turn", "entities"),
    "guide_success": EPISODE_COLUMNS,
    **{f"guide_success_{t}": EPISODE_COLUMNS for t in TAXONOMY},
}
_metric("guide_verdict_bacc", "verdict balanced acc", _verdict_stats, applies=_asks(VERDICT))
_metric("guide_iou", "where IoU", _iou_stats, applies=_asks(WHERE))
_metric("guide_hit_rate", "where hit rate (IoU>=0.5)", _hit_stats, applies=_asks(WHERE))
_metric("guide_fix_acc", "fix acc", _fix_stats, applies=_asks(FIX))
_metric("guide_fix_bleu", "fix BLEU", _bleu_stats, applies=_asks(FIX))
_metric("guide_fix_rouge1", "fix ROUGE-1", _rouge_stats, applies=_asks(FIX))
_metric("guide_next_t_acc", "next-step T_ACC", _next_stats, applies=_asks(NEXT))
_metric("guide_success", "episode success", _success_stats, _per_sample_turn, "guide_turn_right", applies=_asks(VERDICT))
for _type in TAXONOMY:
    _metric(
        f"guide_success_{_type}",
        f"episode success {_type}",
        _success_of(_type),
        _per_sample_turn,
        "guide_turn_right",
        applies=_has_episodes_of(_type),
    )


# --- floors and the own-history loop --------------------------------------------------------------

#: Documented floors: always-Yes scores verdict balanced accuracy 50 (both verdicts present) and 0
#: on every other metric (episode success included: no positive ends at turn 1, and "Yes." names
#: no next step); "verdict right, no box" scores verdict 100 and success 0.
FIX_TEMPLATES: tuple[str, ...] = (
    "Move it 1 stud to the {direction}.",
    "Move it 1 level {vertical}.",
    "Turn it a quarter turn.",
    "Swap it for a {colour} one.",
    "Replace it with a {kind} {size}.",
    "Add the {colour} {kind} {size}.",
)


def verdict_only(rows: FloorRows, train: FloorRows, seed: int = 0) -> tuple[list[str], dict[str, int]]:
    """The right verdict at turn 1 and nothing after it: no box, no fix, no next step (reads ``turn`` and ``label``)."""
    turns, labels = rows.columns["turn"], rows.columns["label"]
    return [PROMPTS.answer("yes" if label else "no") if turn == VERDICT else "" for turn, label in zip(turns, labels, strict=True)], {}


def template_fix(rows: FloorRows, train: FloorRows, seed: int = 0) -> tuple[list[str], dict[str, int]]:
    """The right verdict, no box, and a fix template with a random operation and filling (seeded per row id)."""
    answers, _ = verdict_only(rows, train, seed)
    for i, (row_id, turn) in enumerate(zip(rows.ids, rows.columns["turn"], strict=True)):
        if turn == FIX:
            rng = np.random.default_rng([seed, int(hashlib.sha256(str(row_id).encode()).hexdigest()[:8], 16)])
            template = FIX_TEMPLATES[int(rng.integers(len(FIX_TEMPLATES)))]
            short, long = sorted(int(v) for v in rng.integers(1, 9, size=2))
            answers[i] = template.format(
                direction=("left", "right", "front", "back")[int(rng.integers(4))],
                vertical=("up", "down")[int(rng.integers(2))],
                colour=COLOURS[int(rng.integers(len(COLOURS)))].name,
                kind=("brick", "plate", "flat tile")[int(rng.integers(3))],
                size=f"{short}x{long}",
            )
    return answers, {}


FLOORS: tuple[Floor, ...] = (
    Floor("always-yes", 'answers "Yes." to every turn', constant(PROMPTS.answer("yes"))),
    Floor(
        "verdict-right-no-box",
        "the right verdict at turn 1, nothing after it (an oracle on the label)",
        verdict_only,
        reads=("turn", "label"),
    ),
    Floor(
        "template-fix",
        "the right verdict, no box, a fix template with a random operation and filling (seeded per row)",
        template_fix,
        reads=("turn", "label"),
    ),
    Floor(
        "tfidf-nearest",
        "the answer of the most similar train query of the same turn (TF-IDF cosine): the text-only blind learner",
        nearest_train_answer,
        needs_train=True,
    ),
)
TURN_ORDER = {VERDICT: 0, WHERE: 1, NEXT: 1, FIX: 2}
#: Answer history modes: gold (each turn sees the true earlier turns) and own (the model's own).
GOLD_HISTORY, OWN_HISTORY = "gold_history", "own_history"


def episodes(columns: Mapping[str, Sequence[Any]]) -> list[list[int]]:
    """Row indices per episode, each in turn order, episodes in order of first appearance.

    >>> episodes({"episode": ["b", "a", "b", "b"], "turn": ["fix", "verdict", "verdict", "where"]})
    [[2, 3, 0], [1]]
    """
    found: dict[str, list[int]] = {}
    for i, episode in enumerate(columns["episode"]):
        found.setdefault(episode, []).append(i)
    return [sorted(rows, key=lambda i: TURN_ORDER[columns["turn"][i]]) for rows in found.values()]


def own_history_answers(columns: Mapping[str, Sequence[Any]], images: Callable[[int], Sequence[Any]], respond: Respond) -> list[str]:
    """Answers in own-history mode: each episode is one conversation in which the model's own
    earlier answers are the history; it ends at the first wrong verdict (as a real assistant would:
    it would not go on to mark a piece), and the turns not asked are answered ``""`` (wrong).
    ``images(i)`` gives row ``i``'s images (shared by an episode's rows)."""
    answers = [""] * len(columns["id"])
    for rows in episodes(columns):
        history: list[tuple[str, str]] = []
        shown = images(rows[0])
        for i in rows:
            query = str(columns["query"][i])
            answers[i] = str(respond(shown, history, query))
            history.append((query, answers[i]))
            if columns["turn"][i] == VERDICT and not verdict_right(answers[i], columns["label"][i]):
                break
    return answers


def build_notes(recipe: Any) -> dict[str, Any]:
    """What the card and manifest record: the turns of each episode kind under this recipe's negatives
    and the error taxonomy. A pasted negative (``displaced``, the only kind a manual without 3D truth
    can get) has no correction: its episode stops after the box."""
    kinds = list(recipe.negatives)
    return {
        "turns": {"positive": [VERDICT, NEXT], **{k: [VERDICT, WHERE] if k == "displaced" else [VERDICT, WHERE, FIX] for k in kinds}},
        "error_types": {k: ERROR_TYPES[k] for k in kinds},
        "history": "one row per turn; history holds the gold earlier turns",
        "without_3d_truth": "crawled manuals: verdict and where only (pasted negatives), no fix",
    }


SPEC = TaskSpec(
    name="guide",
    prompts=PROMPTS,
    features={
        "episode": Value("string"),
        "turn": Value("string"),
        "turns": Value("int32"),
        "history": List({"query": Value("string"), "answer": Value("string")}),
        "label": Value("bool"),
        "error_kind": Value("string"),
        "error_type": Value("string"),
        "box": List(Value("float32")),
        "wrong": List(PART_FEATURE),
        "true_parts": List(PART_FEATURE),
        "entities": List(Value("string")),
    },
    make_pairs=make_pairs,
    baselines=FLOORS,
    build_notes=build_notes,
    metrics=METRIC_COLUMNS,
    reference_columns=("episode", "turn", "turns", "label", "error_kind", "error_type", "box", "wrong", "true_parts", "entities"),
    description="the assistant's loop: is the step right, which piece is wrong, how to fix it (or what to do next), turn by turn; "
    "a manual without 3D truth (crawled: pasted negatives) gets the first two turns only",
    max_new_tokens=128,
    in_context_balance="label",
    in_default_build=False,
    group="lego_arta_assistant",
    turn_column="turn",
    own_history=OwnHistory(("id", "episode", "turn", "label", "query"), "episode", own_history_answers, OWN_HISTORY),
    turn_answers={VERDICT: "verdict", WHERE: "box", FIX: "text", NEXT: "text"},
)
