"""``python -m lego_arta`` is the same as the ``lego-arta`` command (handy under ``accelerate launch``)."""

import sys

from lego_arta.cli import main

sys.exit(main())
