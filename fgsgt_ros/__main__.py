"""``python -m fgsgt_ros ...`` runs the ``fgsgt`` CLI (same classes as the console script)."""

import sys

from fgsgt_ros.cli import main

sys.exit(main())
