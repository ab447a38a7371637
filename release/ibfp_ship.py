"""Write the shipped IBFP checkpoints from a training export: ``ibfp_tiny.pt`` (online branch on)
and ``ibfp_tiny_offline.pt`` (the same weights, online branch off), each with the current preset's
config (the online-branch settings live in the config, not in the weights) and the training record.

    .venv/bin/python release/ibfp_ship.py runs/ibfp_tiny/export.pt   # or the --export file of
                                                                    # `fgsgt train`
Then calibrate each file's LOST thresholds (`fgsgt calibrate --write`, docs/MODEL_CARD.md).
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
from fgsgt_ros.model.registry import get_preset  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", help="trained ibfp_tiny checkpoint (training export or run file)")
    ap.add_argument("--presets", nargs="*", default=["ibfp_tiny", "ibfp_tiny_offline"])
    args = ap.parse_args(argv)
    model, cfg, extra = load_checkpoint(args.source)
    extra = extra_to_ship(extra)  # the training record; LOST thresholds calibrated per file
    for name in args.presets:
        new = get_preset(name)
        same = dataclasses.replace(new, name=cfg.name, online=cfg.online)
        if same != cfg:
            raise SystemExit(f"{args.source} holds a different network than preset {name!r}")
        out = weights.checkpoint_path(name)
        save_checkpoint(out, model, new, extra=extra)
        print(f"wrote {out} ({name}, online branch {'on' if new.online.enabled else 'off'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
