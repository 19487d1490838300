"""Refuse an unsupported Python before anything is installed (run by the Makefile first).

Written for any Python 3, so that an old interpreter reaches the message instead of a SyntaxError.
``python3 requirements/check_python.py`` exits 0 on 3.10 and later, and names the problem otherwise.
"""

import sys

SUPPORTED = (3, 10)
LOCKED = (3, 11)

found = sys.version_info[:2]
if found < SUPPORTED:
    sys.exit(
        "lego-arta needs Python >= %d.%d, but %s is Python %d.%d. "
        "Run make with PYTHON=python3.11 (the version the lock in requirements/ is made for)." % (SUPPORTED + (sys.executable,) + found)
    )
if found != LOCKED:
    sys.stderr.write(
        "warning: requirements/*.txt is locked for Python %d.%d and this is %d.%d; if a pinned wheel "
        "is missing for it, use PYTHON=python%d.%d or `make test-latest` (unpinned ranges).\n" % (LOCKED + found + LOCKED)
    )
