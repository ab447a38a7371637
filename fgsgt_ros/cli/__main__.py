"""``python -m fgsgt_ros.cli ...`` runs the ``fgsgt`` CLI (e.g. under ``torchrun -m``)."""

import sys

from fgsgt_ros.cli import main

sys.exit(main())
