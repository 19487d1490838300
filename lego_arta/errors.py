"""The guard at the top of the command line: an expected failure is one line and exit 2, a bug a traceback.

Expected failures are the ones a user can fix: a bad value or file (``ValueError`` with its
message naming the file and field), a full disk, a permission, a folder where a file belongs, a
missing file, a file in another text encoding, an input so large or deep that it exhausts memory
or recursion, or a model id that is not in the local cache while offline. Each becomes one line
naming the file or option and what to do, with exit status 2. Anything else is a bug in
lego-arta: it keeps its traceback (exit 1), so it gets reported rather than hidden.

The line goes to stderr, through :data:`stderr_console`, the one console every verb prints its
errors and warnings on: results (tables, summaries, the paths written) stay alone on stdout, so
``lego-arta score … > table.txt`` keeps the table in the file and shows the problem on the terminal.

>>> guard(lambda: 0)
0
>>> import errno
>>> def full() -> int:
...     raise OSError(errno.ENOSPC, "No space left on device", "out/built/state/train-00000-of-00001.parquet")
>>> describe(OSError(errno.ENOSPC, "No space left on device", "out/x.parquet"))
'no space left on the device holding out/x.parquet: free some space or choose another --out'
>>> guard(full, console=None)
2
>>> guard(full)  # prints "error: no space left …" on stderr; stdout, which this example reads, stays empty
2
>>> stderr_console.file is sys.stderr  # looked up at each print: a redirected or captured stderr gets the lines
True
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

#: Exit status of an expected failure (argparse uses it too).
EXIT_USAGE = 2
#: Longest message printed; a longer one is cut (a message is a line, not a dump of the input).
MAX_MESSAGE_CHARS = 2000

_NO_SPACE = "No space left on device"

#: The console for error and warning lines: stderr, never wrapped (a message stays one line for grep),
#: no highlighting or ``:emoji:`` codes (a path or an answer is shown as it is).
stderr_console = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= MAX_MESSAGE_CHARS else f"{line[:MAX_MESSAGE_CHARS]}…"


def _offline_model(error: BaseException) -> str | None:
    """A message for a model or dataset id that cannot be fetched offline, or None when ``error`` is not that."""
    hub = sys.modules.get("huggingface_hub.errors")
    kinds = tuple(
        getattr(hub, name) for name in ("LocalEntryNotFoundError", "OfflineModeIsEnabled", "RepositoryNotFoundError") if hasattr(hub, name)
    )
    text = str(error)
    if (kinds and isinstance(error, kinds)) or "couldn't connect to" in text or "offline mode is enabled" in text.lower():
        return (
            f"{_first_line(text)} — the model or dataset is not in the local cache and the Hub is not reachable "
            "(HF_HUB_OFFLINE=1?): download it first, or give a local folder"
        )
    return None


def describe(error: BaseException) -> str | None:
    """The one-line message for an expected failure, or None when ``error`` is a bug.

    >>> describe(IsADirectoryError(21, "Is a directory", "flagged.json"))
    'flagged.json is a folder; give a file'
    >>> describe(KeyError("x")) is None
    True
    """
    if isinstance(error, UnicodeDecodeError):
        return f"a file is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8 (run with -v to see which file)"
    if isinstance(error, OSError):
        offline = _offline_model(error)
        if offline is not None:
            return offline
        where = error.filename if error.filename is not None else None
        shown = f" {where}" if where is not None else ""
        if error.errno == errno.ENOSPC or _NO_SPACE in str(error):
            return f"no space left on the device holding{shown or ' the output'}: free some space or choose another --out"
        if error.errno in (errno.EACCES, errno.EPERM):
            return f"permission denied:{shown or ' ' + _first_line(str(error))}; check the file's permissions or choose another path"
        if error.errno == errno.EROFS:
            return f"read-only file system:{shown}; choose another --out"
        if error.errno == errno.EISDIR:
            return f"{where} is a folder; give a file"
        if error.errno == errno.ENOTDIR:
            return f"{where}: a part of this path is a file, not a folder"
        if error.errno == errno.ENOENT and where is not None:
            return f"{where} does not exist"
        return _first_line(str(error)) or type(error).__name__
    if isinstance(error, ValueError):
        return _first_line(str(error)) if "\n" not in str(error).strip() else str(error).strip()[: MAX_MESSAGE_CHARS * 4]
    if isinstance(error, MemoryError):
        return "out of memory: an input is far larger than this kind of file should be (see docs/robustness.md for the limits)"
    if isinstance(error, RecursionError):
        return "an input is nested too deeply (JSON or YAML more than a few hundred levels deep); check the file"
    return None


def print_error(message: str, console: Console = stderr_console) -> None:
    """Print ``message`` as the one ``error:`` line every verb shows (markup in the message is printed as text).

    >>> print_error("[x] is not a file", Console(file=sys.stdout, width=80, color_system=None))
    error: [x] is not a file
    """
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def guard(run: Callable[[], int], *, console: Console | None = stderr_console) -> int:
    """Run a command: its exit status, or :data:`EXIT_USAGE` with one ``error:`` line for an expected failure.

    ``console`` prints the line (default :data:`stderr_console`; ``None``: silent).
    A bug (any exception :func:`describe` does not know) propagates with its traceback.
    """
    try:
        return int(run())
    except (OSError, ValueError, MemoryError, RecursionError) as error:
        message = describe(error)
        if message is None:
            raise
        if console is not None:
            print_error(message, console)
        return EXIT_USAGE
