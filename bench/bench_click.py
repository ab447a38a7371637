"""Click to track: how well a click becomes a box, on real footage.

For every sequence of a dataset folder (plain layout: ``<seq>/img/``, ``groundtruth_rect.txt``) the
first annotated frame is clicked at the annotated box's centre and at points a few pixels off it
(as a user's click would be); the box ``fgsgt_ros.tracker.click.box_from_click`` makes is compared
with the annotation (IoU, centre error). Baseline, measured in the same run: the fixed square a
click gives without blob detection (``ClickConfig.fallback_size`` centred on the click), i.e. what
clicking would be worth with a constant box size.

    .venv/bin/python bench/bench_click.py DATASET_DIR [--offset 3] [--json out/click.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fgsgt_ros.boxes import iou_xywh
from fgsgt_ros.data.sequence import list_images
from fgsgt_ros.tracker.click import ClickConfig, box_from_click


def first_annotated(seq: Path):
    gt = np.loadtxt(seq / "groundtruth_rect.txt", delimiter=",", ndmin=2)
    files = list_images(seq / "img")
    for i, box in enumerate(gt):
        if np.isfinite(box).all() and box[2] > 0 and box[3] > 0 and i < len(files):
            return cv2.imread(str(files[i]), cv2.IMREAD_UNCHANGED), box
    return None, None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", type=Path)
    p.add_argument("--offset", type=float, default=3.0,
                   help="pixels off the centre for the off-centre clicks (default %(default)s)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if not args.dataset.is_dir():
        print(f"bench_click: error: {args.dataset} is not a folder", file=sys.stderr)
        return 2
    cfg = ClickConfig()
    d = args.offset
    points = [(0.0, 0.0), (d, 0.0), (-d, 0.0), (0.0, d), (0.0, -d)]
    rows = []
    for seq in sorted(s for s in args.dataset.iterdir() if (s / "groundtruth_rect.txt").is_file()):
        frame, gt = first_annotated(seq)
        if frame is None:
            continue
        cx, cy = gt[0] + gt[2] / 2, gt[1] + gt[3] / 2
        ious, base, errs, methods, times = [], [], [], [], []
        for dx, dy in points:
            t0 = time.perf_counter()
            r = box_from_click(frame, cx + dx, cy + dy, cfg)
            times.append(time.perf_counter() - t0)
            ious.append(float(iou_xywh(r.box, gt)))
            errs.append(float(np.hypot(*(r.box[:2] + r.box[2:] / 2 - (cx, cy)))))
            methods.append(r.method)
            s = cfg.fallback_size
            square = np.array([cx + dx - s / 2, cy + dy - s / 2, s, s])
            base.append(float(iou_xywh(square, gt)))
        rows.append({"sequence": seq.name, "size": f"{frame.shape[1]}x{frame.shape[0]}",
                     "gt": [round(float(v), 1) for v in gt], "iou_centre": ious[0],
                     "iou_off": float(np.mean(ious[1:])), "iou_square": float(np.mean(base)),
                     "centre_err_px": float(np.mean(errs)),
                     "blob_share": methods.count("blob") / len(methods),
                     "ms": 1e3 * float(np.median(times))})
    print(f"{'sequence':24s} {'size':>9s} {'IoU@centre':>10s} {'IoU@±' + str(d):>9s} "
          f"{'square':>7s} {'err px':>7s} {'blob':>5s} {'ms':>6s}")
    for r in rows:
        print(f"{r['sequence']:24s} {r['size']:>9s} {r['iou_centre']:10.2f} {r['iou_off']:9.2f} "
              f"{r['iou_square']:7.2f} {r['centre_err_px']:7.1f} {r['blob_share']:5.2f} "
              f"{r['ms']:6.1f}")
    if rows:
        mean = {k: float(np.mean([r[k] for r in rows]))
                for k in ("iou_centre", "iou_off", "iou_square", "centre_err_px", "ms")}
        print(f"{'mean (' + str(len(rows)) + ' sequences)':24s} {'':>9s} {mean['iou_centre']:10.2f} "
              f"{mean['iou_off']:9.2f} {mean['iou_square']:7.2f} {mean['centre_err_px']:7.1f} "
              f"{'':>5s} {mean['ms']:6.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"offset_px": d, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
