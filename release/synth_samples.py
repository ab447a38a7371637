"""Contact sheet of the rich synthetic presets (``docs/synth_samples.png``).

For each preset (``display``, ``small``, ``people``, ``realistic``) two generated sequences of
different target categories, three frames each (first, middle, last) with the ground-truth box
drawn in green (dashed label line: preset, category, 8-bit display or 16-bit raw, frame size). 16-bit
raw frames are shown with a 1-99 % percentile stretch; 8-bit frames as they are.

    .venv/bin/python release/synth_samples.py --out docs/synth_samples.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

import numpy as np


def _tile(frame: np.ndarray, box: np.ndarray, label: str, size=(320, 240)) -> np.ndarray:
    import cv2

    if frame.dtype != np.uint8:
        lo, hi = np.percentile(frame, [1, 99])
        frame = np.clip((frame.astype(np.float32) - lo) / max(float(hi - lo), 1.0) * 255, 0, 255).astype(np.uint8)
    H, W = frame.shape[:2]
    k = min(size[0] / W, size[1] / H)
    img = cv2.resize(frame, (max(1, int(W * k)), max(1, int(H * k))), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    canvas[:img.shape[0], :img.shape[1]] = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if np.isfinite(box).all():
        x, y, w, h = box * k
        cv2.rectangle(canvas, (int(x) - 1, int(y) - 1), (int(x + w) + 1, int(y + h) + 1), (0, 220, 0), 1)
    cv2.rectangle(canvas, (0, size[1] - 16), (size[0], size[1]), (0, 0, 0), -1)
    cv2.putText(canvas, label, (3, size[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def main(argv=None) -> int:
    import cv2

    from fgsgt_ros.data.synth import PRESETS, generate_sequence

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs/synth_samples.png"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--presets", default="display,small,people,realistic")
    args = ap.parse_args(argv)
    rows: List[np.ndarray] = []
    for name in args.presets.split(","):
        tiles: List[np.ndarray] = []
        seen = set()
        index = 0
        while len(tiles) < 6 and index < 40:
            seq = generate_sequence(PRESETS[name], args.frames, args.seed, index)
            index += 1
            key = seq.info["shape"] if name != "people" else seq.info["output"]
            if key in seen or not np.isfinite(seq.boxes[0]).all():
                continue
            seen.add(key)
            W, H = seq.info["size"]
            kind = "8-bit" if seq.info["output"] == "display8" else "16-bit"
            extra = " cold" if seq.info["cold_target"] else ""
            for fi in (0, args.frames // 2, args.frames - 1):
                tiles.append(_tile(seq.frames[fi], seq.boxes[fi],
                                   f"{name}: {seq.info['shape']}{extra} {kind} {W}x{H} #{fi + 1}"))
        rows.append(np.hstack(tiles))
    sheet = np.vstack(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
