"""Write the shipped FGSGT checkpoints from a trained fgsgt_tiny: ``fgsgt_tiny.pt`` (online branch
on, ``config.FGSGT_TINY_ONLINE``) and ``fgsgt_tiny_offline.pt`` (the same weights, online branch
off). The online branch has no weights: it lives in the checkpoint's model config.

    .venv/bin/python release/fgsgt_ship.py runs/long_s2/export.pt   # any trained fgsgt_tiny file
Then calibrate each file's LOST thresholds (`fgsgt calibrate fgsgt_tiny:FILE --write`,
docs/MODEL_CARD.md): mixing changes the score distribution.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fgsgt_ros import weights  # noqa: E402
from fgsgt_ros.model.checkpoint import (extra_to_ship, load_checkpoint,  # noqa: E402
                                         save_checkpoint)
from fgsgt_ros.model.config import OnlineConfig  # noqa: E402
from fgsgt_ros.model.families.fgsgt import FGSGT_TINY_ONLINE, get_preset  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", help="trained fgsgt_tiny checkpoint (training export, run file or "
                                   "a shipped file)")
    args = ap.parse_args(argv)
    model, cfg, extra = load_checkpoint(args.source)
    offline = dataclasses.replace(cfg, online=OnlineConfig(enabled=False))
    if offline != get_preset("fgsgt_tiny"):  # the preset keeps the branch off
        raise SystemExit(f"{args.source} holds a different network than preset 'fgsgt_tiny'")
    extra = extra_to_ship(extra)  # the training record; LOST thresholds calibrated per file
    for stem, online in (("fgsgt_tiny", FGSGT_TINY_ONLINE), ("fgsgt_tiny_offline", offline.online)):
        out = weights.checkpoint_path(stem)
        save_checkpoint(out, model, dataclasses.replace(cfg, online=online), extra=extra)
        print(f"wrote {out} (online branch {'on' if online.enabled else 'off'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
