"""One tracking sequence in memory-light form, and the plain folder layout reader.

Plain folder layout (used by the real FLIR Lepton development clips and the synthetic generator):
``<seq>/img/*.png|jpg`` (sorted by name) + ``<seq>/groundtruth_rect.txt`` with one ``x,y,w,h`` row per
frame (comma, tab or space separated; 0-based, continuous [x, x+w)); a NaN row means the target is
absent. An optional ``<seq>/category.txt`` holds the target's object class (one word, e.g.
``person``; the generator writes it), read into ``Sequence.category``. Frames are loaded lazily,
unchanged (16-bit stays 16-bit), by ``Sequence.frame(i)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class Sequence:
    """A named sequence: frame files, (N, 4) xywh ground truth (NaN rows = absent), attributes."""

    name: str
    frame_paths: List[Path]
    groundtruth: np.ndarray
    attributes: Dict[str, np.ndarray] = field(default_factory=dict)
    tags: List[str] = field(default_factory=list)
    #: object class of the target ("person", "vehicle", "animal", ...) where known, e.g. from the
    #: generator; MMNet's auxiliary classification branch trains on it
    category: Optional[str] = None

    def __post_init__(self) -> None:
        self.groundtruth = np.asarray(self.groundtruth, dtype=np.float64).reshape(-1, 4)
        if len(self.frame_paths) != len(self.groundtruth):
            raise ValueError(
                f"sequence {self.name!r}: {len(self.frame_paths)} frames but "
                f"{len(self.groundtruth)} ground-truth rows")

    def __len__(self) -> int:
        return len(self.frame_paths)

    @property
    def absent(self) -> np.ndarray:
        """Boolean (N,) mask of frames where the target is absent (NaN or non-positive size)."""
        gt = self.groundtruth
        return ~np.isfinite(gt).all(axis=1) | (np.nan_to_num(gt[:, 2]) <= 0) | (
            np.nan_to_num(gt[:, 3]) <= 0)

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` exactly as stored (uint8/uint16, 1 or 3 channels; colour as BGR)."""
        import cv2  # local: keeps `import fgsgt_ros.data` light

        path = self.frame_paths[index]
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise IOError(f"cannot read frame {path}")
        return image


def read_box_file(path: Path) -> np.ndarray:
    """Read an ``x,y,w,h`` per line file (comma/tab/space separated, 'NaN' allowed) as (N, 4)."""
    rows = []
    for line_no, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,\s]+", line) if p]
        try:
            values = [float(p) for p in parts]
        except ValueError as exc:
            raise ValueError(f"{path}:{line_no}: not a number in {line!r}") from exc
        if len(values) != 4:
            raise ValueError(f"{path}:{line_no}: expected 4 values x,y,w,h, got {len(values)}")
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def list_images(folder: Path) -> List[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_plain_sequence(folder: Path, name: Optional[str] = None) -> Sequence:
    """Read ``<folder>/img/*`` + ``<folder>/groundtruth_rect.txt``."""
    folder = Path(folder)
    img_dir = folder / "img"
    gt_file = folder / "groundtruth_rect.txt"
    if not img_dir.is_dir() or not gt_file.is_file():
        raise FileNotFoundError(
            f"{folder} is not a plain sequence folder (needs img/ and groundtruth_rect.txt)")
    cat_file = folder / "category.txt"
    category = (cat_file.read_text().strip() or None) if cat_file.is_file() else None
    return Sequence(name or folder.name, list_images(img_dir), read_box_file(gt_file),
                    category=category)


def read_plain_dataset(root: Path) -> List[Sequence]:
    """Every plain sequence folder directly under ``root`` (or ``root`` itself if it is one)."""
    root = Path(root)
    if (root / "img").is_dir():
        return [read_plain_sequence(root)]
    seqs = [read_plain_sequence(d) for d in sorted(root.iterdir())
            if d.is_dir() and (d / "img").is_dir()]
    if not seqs:
        raise FileNotFoundError(f"no plain sequence folders (<seq>/img + groundtruth_rect.txt) in {root}")
    return seqs


def write_plain_sequence(folder: Path, frames, boxes: np.ndarray, category: Optional[str] = None) -> None:
    """Write frames (iterable of arrays; 16-bit kept) and (N, 4) boxes in the plain layout (and the
    target's object class to ``category.txt`` when given)."""
    import cv2

    folder = Path(folder)
    (folder / "img").mkdir(parents=True, exist_ok=True)
    count = 0
    for i, frame in enumerate(frames, start=1):
        if not cv2.imwrite(str(folder / "img" / f"{i:06d}.png"), frame):
            raise IOError(f"cannot write frame {i} to {folder}")
        count += 1
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if count != len(boxes):
        raise ValueError(f"{count} frames but {len(boxes)} boxes")
    lines = ["NaN,NaN,NaN,NaN" if not np.isfinite(b).all() else
             ",".join(f"{v:.2f}" for v in b) for b in boxes]
    (folder / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n")
    if category:
        (folder / "category.txt").write_text(f"{category}\n")
