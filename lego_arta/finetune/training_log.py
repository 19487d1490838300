"""The training log: one JSON object per line (train steps and evaluations), and its loss plot.

Entries hold no wall-clock times, so the same run gives the same log; a resumed run first drops
the entries an interrupted run wrote after its checkpoint, so the log reads as one run.

>>> log = TrainingLog(Path("out/lora/train_log.jsonl"))
>>> log.append({"step": 1, "loss": 2.3, "lr": 2e-4})
>>> log.entries()
[{'loss': 2.3, 'lr': 0.0002, 'step': 1}]
>>> write_loss_plot(log.entries(), Path("out/lora/loss.png")).name
'loss.png'
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lego_arta.atomic import atomic_write_bytes, atomic_write_text

PLOT_SIZE_INCHES = (6.4, 4.0)
PLOT_DPI = 100


class TrainingLog:
    """Append-only JSON-lines file of ``{"step": …, "loss"|"eval_loss": …}`` records."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        entries = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{self.path}:{number}: not a JSON log line ({error})") from error
        return entries

    def append(self, entry: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(entry), sort_keys=True) + "\n")

    def truncate_after(self, step: int) -> int:
        """Drop entries past ``step`` (written after the checkpoint a run resumes from); return how many."""
        entries = self.entries()
        kept = [entry for entry in entries if int(entry.get("step", 0)) <= step]
        if len(kept) != len(entries):
            atomic_write_text(self.path, "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in kept))
        return len(entries) - len(kept)


def write_loss_plot(entries: Sequence[Mapping[str, Any]], path: Path, *, title: str = "LoRA fine-tuning") -> Path:
    """Training loss per optimizer step and held-out loss at each evaluation, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    train = [(entry["step"], entry["loss"]) for entry in entries if "loss" in entry]
    held_out = [(entry["step"], entry["eval_loss"]) for entry in entries if "eval_loss" in entry]
    figure = Figure(figsize=PLOT_SIZE_INCHES, dpi=PLOT_DPI)
    axes = figure.add_subplot()
    if train:
        axes.plot(*zip(*train), label="train loss", linewidth=1.2)
    if held_out:
        axes.plot(*zip(*held_out), "o-", label="held-out loss", linewidth=1.2)
    axes.set(xlabel="optimizer step", ylabel="cross-entropy (answer tokens)", title=title)
    axes.grid(alpha=0.3)
    if train or held_out:
        axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
