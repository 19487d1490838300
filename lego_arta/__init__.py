"""lego-arta: the reference toolkit for the LEGO-ARTA benchmark.

The package follows the data path: ``source`` (synthetic and crawled raw manuals) → ``parse``
(typed manuals) → ``annotate`` → ``dataset`` → ``evaluation``/``harness`` → ``finetune``, with
``tasks``, ``metrics``, ``answers`` and ``atomic`` below them all (docs/architecture.md).
"""

__version__ = "0.1.0"

#: How the toolkit is cited: the dataset card, the ``datasets`` builder and the ``evaluate`` modules.
CITATION = f"""\
@software{{lego_arta,
  title   = {{lego-arta: reference toolkit for the LEGO-ARTA benchmark}},
  version = {{{__version__}}},
  year    = {{2026}},
  note    = {{Tasks and metrics follow the 2024 MSc thesis that introduced the LEGO-ARTA tasks}}
}}
"""
