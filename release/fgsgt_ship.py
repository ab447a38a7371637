"""Write the shipped FGSGT checkpoints from a trained network: ``PRESET.pt`` (the online branch on:
``FGSGT_NANO_ONLINE`` for fgsgt_nano, ``FGSGT_ONLINE`` for fgsgt_tiny) and, for ``fgsgt_tiny``,
``fgsgt_tiny_offline.pt`` (the same weights without it).
The online branch has no weights: it lives in the checkpoint's model config.

    .venv/bin/python release/fgsgt_ship.py runs/fgsgt_nano/last.pt --preset fgsgt_nano
    .venv/bin/python release/fgsgt_ship.py runs/long_s2/export.pt   # fgsgt_tiny (the default)
Then calibrate each file's LOST thresholds (`fgsgt calibrate PRESET:FILE --write`,
docs/model_cards/fgsgt.md): the online branch changes the score distribution.
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
from fgsgt_ros.model.families.fgsgt import (FGSGT_NANO_ONLINE, FGSGT_ONLINE,  # noqa: E402
                                            get_preset)

#: the online branch each shipped preset runs
ONLINE = {"fgsgt_tiny": FGSGT_ONLINE, "fgsgt_nano": FGSGT_NANO_ONLINE}

#: presets whose offline twin is shipped too (the ablation row of the online branch)
WITH_OFFLINE_TWIN = ("fgsgt_tiny",)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source", help="trained checkpoint of PRESET (training run file, export or "
                                   "a shipped file)")
    ap.add_argument("--preset", default="fgsgt_tiny", choices=tuple(ONLINE),
                    help="the network the source must hold (default: fgsgt_tiny)")
    args = ap.parse_args(argv)
    model, cfg, extra = load_checkpoint(args.source)
    offline = dataclasses.replace(cfg, online=OnlineConfig(enabled=False))
    if offline != get_preset(args.preset):  # the preset keeps the branch off
        raise SystemExit(f"{args.source} holds a different network than preset {args.preset!r}")
    extra = extra_to_ship(extra)  # the training record; LOST thresholds calibrated per file
    files = [(args.preset, ONLINE[args.preset])]
    if args.preset in WITH_OFFLINE_TWIN:
        files.append((f"{args.preset}_offline", offline.online))
    for stem, online in files:
        out = weights.checkpoint_path(stem)
        save_checkpoint(out, model, dataclasses.replace(cfg, online=online), extra=extra)
        print(f"wrote {out} (online branch {'on' if online.enabled else 'off'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
