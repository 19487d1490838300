"""A second process that holds an output folder's one-writer lock, for tests of the writer that comes second.

The holder takes the lock exactly as every writing command does (:func:`lego_arta.atomic.output_lock`),
so a command that refuses while it runs is a command that takes the lock itself; killing it with
SIGKILL leaves the lock file behind, as a crashed writer would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_HOLDER = (
    "import sys; from pathlib import Path; from lego_arta.atomic import output_lock\n"
    "with output_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True); sys.stdin.read()\n"
)


def hold_output(out: Path) -> subprocess.Popen[str]:
    """Start a process that holds ``out``'s lock until it is killed or its stdin closes; return it once it holds."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(out)], cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process
