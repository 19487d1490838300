"""Every answered request of a paid run, on disk the moment it is answered: what makes a run resumable.

A run of thousands of API requests dies to a crash, a kill or a closed laptop. The served model
(:mod:`lego_arta.harness.served_model`) appends each answer to a JSON-lines journal in the run's
output folder, flushed and fsynced before the next one is taken, and looks every request up in
it first: the same command with the same output folder sends no second request for an answered
sample, and gives it the same answer. A line cut short by the crash is ignored (that sample is
simply asked again).

The key is a digest of what is sent (model, messages with their images, generation settings),
so a changed prompt or model is asked afresh rather than answered from an older run.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "requests.jsonl"
>>> journal = RequestJournal(path)
>>> journal.add(Answer(key="k1", task="lego_arta_state", doc_id=0, text="Yes", input_tokens=30, output_tokens=1, seconds=0.5))
>>> RequestJournal(path).get("k1").text
'Yes'
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The journal's file name inside a run's output folder.
JOURNAL_NAME = "lego_arta_requests.jsonl"


@dataclass(frozen=True)
class Answer:
    """One answered request: its key, where it came from, the text and what it cost."""

    key: str
    task: str
    doc_id: int
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    p_yes: float | None = None


def request_key(payload: Any) -> str:
    """SHA-256 of the request body as canonical JSON (sorted keys): equal bodies, equal keys.

    >>> request_key({"model": "m", "messages": []}) == request_key({"messages": [], "model": "m"})
    True
    """
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RequestJournal:
    """Answers by key, read from ``path`` when it exists; :meth:`add` appends one durably."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._answers: dict[str, Answer] = {}
        self.torn_lines = 0
        #: A crash can leave the last line without its newline: the next answer starts a fresh line.
        self._cut_short = False
        if self.path.is_file():
            self._read()
            data = self.path.read_bytes()
            self._cut_short = bool(data) and not data.endswith(b"\n")

    def _read(self) -> None:
        fields = set(Answer.__dataclass_fields__)
        for number, raw in enumerate(self.path.read_bytes().split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                self.torn_lines += 1  # the write a crash cut short: that sample is asked again
                continue
            if not isinstance(entry, dict) or not fields.issuperset(entry) or "key" not in entry:
                raise ValueError(f"{self.path}:{number}: not a lego-arta request journal line (fields {sorted(fields)})")
            self._answers[entry["key"]] = Answer(**entry)

    def get(self, key: str) -> Answer | None:
        """The journalled answer of the request with this key, or ``None``."""
        return self._answers.get(key)

    def add(self, answer: Answer) -> None:
        """Append ``answer`` and fsync it: once this returns, a crash cannot lose it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(answer), sort_keys=True) + "\n"
        with self.path.open("a", encoding="ascii") as sink:
            if self._cut_short:
                sink.write("\n")
                self._cut_short = False
            sink.write(line)
            sink.flush()
            os.fsync(sink.fileno())
        self._answers[answer.key] = answer

    def answers(self) -> list[Answer]:
        """Every journalled answer, in the order first written."""
        return list(self._answers.values())

    def total(self) -> dict[str, int]:
        """What every journalled answer cost (answers, input and output tokens): the same after a resumed run as after an uninterrupted one."""
        answers = self.answers()
        return {
            "answered": len(answers),
            "input_tokens": sum(a.input_tokens for a in answers),
            "output_tokens": sum(a.output_tokens for a in answers),
        }

    def __len__(self) -> int:
        return len(self._answers)
