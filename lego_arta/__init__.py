"""lego-arta: the reference toolkit for the LEGO-ARTA benchmark.

The package follows the data path: ``source`` (synthetic and crawled raw manuals) → ``manual``
(parsed, typed records) → annotate → build → evaluate → fine-tune.
"""

__version__ = "0.1.0"
