"""``python -m lego_arta.finetune`` (and ``accelerate launch -m lego_arta.finetune``): the finetune command alone."""

import sys

from lego_arta.finetune.command import main

sys.exit(main())
