"""Reading files that others send (recipes, synonym trees) with bounded work, and quoting their values briefly.

A YAML "billion laughs" (aliases of aliases of a list) loads in microseconds, because PyYAML
shares the aliased objects, and then costs gigabytes wherever it is walked or printed: a recipe's
``negatives`` field took 12.6 GB and 206 s and ended in a MemoryError while the error message
formatted the value. These files have no use for aliases, so :func:`load_yaml` refuses them and
refuses files over :data:`MAX_YAML_BYTES`; :func:`brief` quotes any value in a message in a
bounded number of characters.

>>> load_yaml("seed: 1\\nconfigs: [state]\\n", "recipe.yaml")
{'seed': 1, 'configs': ['state']}
>>> load_yaml("a: &x [1]\\nb: [*x, *x]\\n", "recipe.yaml")
Traceback (most recent call last):
...
ValueError: recipe.yaml:2: YAML aliases (*x) are not accepted here; write the value out
>>> brief("x" * 1000)
"'xxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'"
>>> brief(list(range(100)))
'[0, 1, 2, 3, 4, 5, 6, 7, ...]'
"""

from __future__ import annotations

import json
import reprlib
from pathlib import Path
from typing import Any

import yaml

#: Largest YAML input read: a recipe or a synonym tree is a few kB.
MAX_YAML_BYTES = 1024**2
#: Largest JSON document read (a ratings or answers file, a Label Studio export, flagged.json: at most a few MB).
MAX_JSON_BYTES = 64 * 1024**2
#: Characters of a value shown in a message.
SHOWN_CHARS = 60

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 3, 8, 8, 8, 8
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN_CHARS


def brief(value: Any) -> str:
    """``repr(value)`` in at most about :data:`SHOWN_CHARS` characters, whatever its size or depth.

    ``reprlib`` walks only what it shows (a few items per level, three levels), so even a value
    with a billion shared elements costs nothing to describe.
    """
    text = _REPR.repr(value)
    return text if len(text) <= 2 * SHOWN_CHARS else f"{text[: 2 * SHOWN_CHARS]}…"


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses ``*alias`` nodes (anchors alone are harmless)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasError(event.anchor, event.start_mark.line + 1)
        return super().compose_node(parent, index)


class _AliasError(Exception):
    def __init__(self, anchor: str, line: int) -> None:
        super().__init__(anchor, line)
        self.anchor, self.line = anchor, line


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML ``text`` (from ``where``, for messages) without aliases, at most :data:`MAX_YAML_BYTES`.

    Raises :class:`ValueError` naming ``where`` for an alias, an oversized text or invalid YAML.
    """
    if len(text) > MAX_YAML_BYTES:
        raise ValueError(f"{where}: {len(text):,} characters; a file of this kind is a few kB (at most {MAX_YAML_BYTES:,} are read)")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except _AliasError as error:
        raise ValueError(
            f"{where}:{error.line}: YAML aliases (*{error.anchor[:SHOWN_CHARS]}) are not accepted here; write the value out"
        ) from None
    except yaml.YAMLError as error:
        raise ValueError(f"{where}: not valid YAML ({error})") from None
    except RecursionError:
        raise ValueError(f"{where}: YAML nested too deeply") from None


def read_text_file(path: Path, what: str = "file", *, limit: int = MAX_JSON_BYTES) -> str:
    """The UTF-8 text of ``path``; a folder, a missing file, an oversized file or another encoding is
    an error naming the file (``FileNotFoundError`` when missing, else ``ValueError``).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "r.json").write_bytes("caf\xe9".encode("latin-1"))
    >>> read_text_file(folder / "r.json", "ratings file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: .../r.json: the ratings file is not UTF-8 text (unexpected end of data at byte 3); save it as UTF-8
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: a folder; give the {what} itself")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such {what}") from None
    if len(data) > limit:
        raise ValueError(f"{path}: over {limit:,} bytes; a {what} is at most a few MB")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError(f"{path}: the {what} is UTF-16 text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: the {what} is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8") from None


def read_json_file(path: Path, what: str = "JSON file") -> Any:
    """The JSON document of ``path``, read by :func:`read_text_file`; invalid or too deeply nested
    JSON is a ``ValueError`` naming the file."""
    text = read_text_file(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply (a {what} is a few levels deep)") from None
