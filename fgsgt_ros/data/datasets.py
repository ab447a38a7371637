"""Readers for the public tracking benchmarks, all returning ``fgsgt_ros.data.sequence.Sequence``.

Every reader converts the dataset's annotation into the project convention of
``fgsgt_ros.boxes``: continuous, 0-based ``x, y, w, h`` with the box covering ``[x, x+w)``; an absent
target is a NaN row. Frames are only listed here, never decoded (``Sequence.frame(i)`` loads lazily).

Layouts (``FORMATS``; ``detect_format`` guesses one, ``read_dataset`` dispatches):

- ``plain``: ``<seq>/img/*`` + ``<seq>/groundtruth_rect.txt`` (0-based, NaN rows = absent), e.g.
  the real FLIR Lepton development clips. Delegates to ``fgsgt_ros.data.sequence.read_plain_dataset``.
- ``lsotb_tir`` (evaluation split): ``[sequences/]<seq>/img/*.jpg`` with the annotation in
  ``anno/<seq>.txt`` (next to ``sequences/``) or in ``<seq>/<seq>.txt`` / ``<seq>/groundtruth_rect.txt``;
  optional per-sequence attribute flags in ``att/<seq>.txt`` or ``anno/att/<seq>.txt``.
  Annotations are the MATLAB toolkit's 1-based pixel indices: we subtract 1 from x and y.
- ``lsotb_tir_train`` (training split, ILSVRC-VID style): ``TrainingData/<part>/<seq>/*.jpg`` and
  ``Annotations/<part>/<seq>/*.xml`` (one Pascal-VOC xml per frame, ``bndbox`` xmin/ymin/xmax/ymax;
  no ``object`` = absent). Box = (xmin, ymin, xmax - xmin, ymax - ymin), taken as 0-based as the
  ILSVRC-style Python loaders do. Sequence names are ``<part>/<seq>``.
- ``ptb_tir``: ``<seq>/img/*.jpg`` + ``<seq>/groundtruth_rect.txt`` (or any single ``*.txt`` box
  file in ``<seq>``), 1-based like LSOTB-TIR (x, y minus 1); optional ``<seq>/attributes.txt``.
  Not distinguishable from ``plain`` by its files alone: auto-detection picks it only when the
  root folder's name contains "ptb"; otherwise pass ``format="ptb_tir"``.
- ``vot`` (VOT-TIR2015/2017, LTIR): ``[list.txt]`` + ``<seq>/groundtruth.txt`` (4 values = rectangle,
  6+ even values = polygon, converted to its axis-aligned min/max bounding box; a row of NaN/0s =
  absent) with frames in ``<seq>/`` or in the folder named by ``<seq>/sequence``'s
  ``channels.*`` entry (``color/``, ``ir/``). Per-frame ``<seq>/*.tag`` / ``*.label`` files become
  ``Sequence.attributes`` (bool per frame); a tag set anywhere in a sequence is also a ``tags`` entry.
  Coordinates are taken as 0-based (the VOT Python toolkit convention).
- ``got10k``: ``<split>/list.txt`` + ``<split>/<seq>/%08d.jpg`` + ``groundtruth.txt`` (0-based),
  ``absence.label`` (1 = absent -> NaN row), ``cover.label`` (0..8 visible ratio, kept as the
  per-frame attribute ``cover``), ``cut_by_image.label``. In the test split only the first frame is
  annotated: the other rows are NaN and the sequence gets the tag ``"gt_first_frame_only"`` (the
  evaluator writes results but computes no metric for it). ``root`` may be the GOT-10k root
  (``split`` picks train/val/test) or a split folder itself.

Sequence-level attributes (``Sequence.tags``) drive the per-attribute tables of the evaluator.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

import numpy as np

from fgsgt_ros.data.sequence import (Sequence, list_images, read_box_file, read_plain_dataset,
                                     read_plain_sequence)

FORMATS = ("plain", "lsotb_tir", "lsotb_tir_train", "ptb_tir", "vot", "got10k")
#: Other accepted names (``fgsgt train`` and ``fgsgt eval`` take the same set): "auto" detects the
#: layout; "lsotb" is either LSOTB-TIR layout (evaluation or training split), detected.
FORMAT_ALIASES = {"auto": None, "lsotb": "lsotb", "lsotb_train": "lsotb_tir_train",
                  "lsotb_eval": "lsotb_tir", "ptb": "ptb_tir", "got-10k": "got10k"}
#: Every name ``read_dataset(format=...)`` and the CLIs' ``--format`` accept.
FORMAT_CHOICES = tuple(FORMAT_ALIASES) + FORMATS


def resolve_format(root: Path, format: Optional[str]) -> str:
    """One of ``FORMATS`` for ``format`` (a format, an alias, "auto" or None = detect)."""
    name = (format or "auto").strip().lower()
    if name in FORMATS:
        return name
    if name not in FORMAT_ALIASES:
        raise DatasetError(f"unknown dataset format {format!r}; valid: {', '.join(FORMAT_CHOICES)}")
    target = FORMAT_ALIASES[name]
    if target is None:
        return detect_format(root)
    if target == "lsotb":
        found = detect_format(root)
        if found not in ("lsotb_tir", "lsotb_tir_train"):
            raise DatasetError(f"{root} is not in an LSOTB-TIR layout (it looks like {found})")
        return found
    return target

# LSOTB-TIR's 12 challenge attributes (paper order), used to name 0/1 attribute vectors of length 12.
LSOTB_TIR_ATTRIBUTES = ("TC", "IV", "DIS", "DEF", "OCC", "OV", "SV", "FM", "MB", "BC", "LR", "ARV")
# PTB-TIR's 9 attributes (paper order) for 0/1 vectors of length 9.
PTB_TIR_ATTRIBUTES = ("TC", "BC", "IV", "MB", "OCC", "OV", "DEF", "SV", "FM")

GOT10K_SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """The folder does not hold the expected dataset layout (message says what is missing)."""


# ----------------------------------------------------------------------------- helpers

def _numbers(line: str) -> List[float]:
    parts = [p for p in re.split(r"[,\s;]+", line.strip()) if p]
    return [float(p) for p in parts]


def read_region_file(path: Path) -> np.ndarray:
    """Read a VOT-style region file: rectangles (4 values) or polygons (2k values, k >= 3) per line.

    Returns (N, 4) xywh; a polygon becomes its axis-aligned min/max bounding box. Rows that are
    empty, all zero or non-finite are absent (NaN). RLE masks (VOT2020 ``m...``) are rejected.
    """
    path = Path(path)
    rows = []
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("m"):
            raise DatasetError(f"{path}:{line_no}: segmentation-mask regions are not supported")
        try:
            v = np.asarray(_numbers(line), dtype=np.float64)
        except ValueError as exc:
            raise DatasetError(f"{path}:{line_no}: not a number in {line.strip()!r}") from exc
        if v.size == 1 and v[0] == 0:          # VOT writes "0" for an unknown region
            rows.append([np.nan] * 4)
        elif v.size == 4:
            rows.append(list(v))
        elif v.size >= 6 and v.size % 2 == 0:
            xs, ys = v[0::2], v[1::2]
            rows.append([xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()])
        else:
            raise DatasetError(f"{path}:{line_no}: expected 4 values or a polygon, got {v.size}")
    gt = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    bad = ~np.isfinite(gt).all(axis=1) | (np.nan_to_num(gt[:, 2:]) <= 0).any(axis=1)
    gt[bad] = np.nan
    return gt


def _read_boxes_lenient(path: Path) -> np.ndarray:
    """OTB-style annotation: 4 values per line; all-zero/non-positive-size rows -> NaN (absent)."""
    gt = read_box_file(path)
    bad = ~np.isfinite(gt).all(axis=1) | (np.nan_to_num(gt[:, 2:]) <= 0).any(axis=1)
    gt[bad] = np.nan
    return gt


def _to_zero_based(gt: np.ndarray) -> np.ndarray:
    """MATLAB toolkits' 1-based pixel indices -> 0-based continuous coordinates (x, y minus 1)."""
    gt = gt.copy()
    gt[:, :2] -= 1.0
    return gt


def _match_lengths(name: str, frames: List[Path], gt: np.ndarray) -> np.ndarray:
    """Annotations longer than the frame list are cut; shorter ones are an error."""
    if len(gt) > len(frames) and len(frames) > 0:
        gt = gt[:len(frames)]
    if len(gt) != len(frames):
        raise DatasetError(f"sequence {name!r}: {len(frames)} frames but {len(gt)} annotation rows")
    return gt


def _read_flag_vector(path: Path, names: Iterable[str]) -> List[str]:
    """Sequence attribute file -> list of attribute names that are set.

    Accepts a 0/1 vector (comma/space separated; named by ``names`` when the length matches, else
    ``att1..attN``) or a list of attribute names.
    """
    text = Path(path).read_text().strip()
    tokens = [t for t in re.split(r"[,\s;]+", text) if t]
    names = tuple(names)
    try:
        flags = [float(t) for t in tokens]
    except ValueError:
        return tokens  # already names
    labels = names if len(flags) == len(names) else tuple(f"att{i + 1}" for i in range(len(flags)))
    return [lab for lab, f in zip(labels, flags) if f > 0]


# ----------------------------------------------------------------------------- LSOTB-TIR

def _lsotb_seq_root(root: Path) -> Path:
    return root / "sequences" if (root / "sequences").is_dir() else root


def read_lsotb_tir(root: Path) -> List[Sequence]:
    """LSOTB-TIR evaluation split (see module docstring)."""
    root = Path(root)
    seq_root = _lsotb_seq_root(root)
    anno_dirs = [d for d in (root / "anno", seq_root / "anno", seq_root.parent / "anno") if d.is_dir()]
    att_dirs = [d for d in (root / "att", root / "anno" / "att", seq_root.parent / "att") if d.is_dir()]
    seqs = []
    for d in sorted(p for p in seq_root.iterdir() if p.is_dir() and (p / "img").is_dir()):
        candidates = [a / f"{d.name}.txt" for a in anno_dirs] + [
            d / f"{d.name}.txt", d / "groundtruth_rect.txt", d / "groundtruth.txt"]
        gt_file = next((c for c in candidates if c.is_file()), None)
        if gt_file is None:
            raise DatasetError(f"LSOTB-TIR sequence {d.name!r}: no annotation (looked for "
                               f"anno/{d.name}.txt, {d.name}/{d.name}.txt)")
        frames = list_images(d / "img")
        gt = _match_lengths(d.name, frames, _to_zero_based(_read_boxes_lenient(gt_file)))
        tags: List[str] = []
        att_file = next((a / f"{d.name}.txt" for a in att_dirs if (a / f"{d.name}.txt").is_file()), None)
        if att_file is not None:
            tags = _read_flag_vector(att_file, LSOTB_TIR_ATTRIBUTES)
        seqs.append(Sequence(d.name, frames, gt, tags=tags))
    if not seqs:
        raise DatasetError(f"no LSOTB-TIR sequences (<seq>/img/ folders) in {seq_root}")
    return seqs


_XML_OBJECT = re.compile(r"<object>(.*?)</object>", re.S)
_XML_TAG = {k: re.compile(rf"<{k}>\s*([-+0-9.eE]+)\s*</{k}>") for k in ("xmin", "ymin", "xmax", "ymax")}


def parse_voc_xml_box(text: str) -> np.ndarray:
    """First object's bndbox of a Pascal-VOC xml as xywh; NaN if there is no object.

    A regex instead of a full XML parser: LSOTB-TIR's training split has ~600k of these files.
    """
    m = _XML_OBJECT.search(text)
    if m is None:
        return np.full(4, np.nan)
    vals = {}
    for k, rx in _XML_TAG.items():
        mk = rx.search(m.group(1))
        if mk is None:
            return np.full(4, np.nan)
        vals[k] = float(mk.group(1))
    w, h = vals["xmax"] - vals["xmin"], vals["ymax"] - vals["ymin"]
    if w <= 0 or h <= 0:
        return np.full(4, np.nan)
    return np.array([vals["xmin"], vals["ymin"], w, h])


def read_lsotb_tir_train(root: Path, progress: bool = False) -> List[Sequence]:
    """LSOTB-TIR training split: ``TrainingData/<part>/<seq>`` + ``Annotations/<part>/<seq>/*.xml``.

    Frames and xml files are matched by file stem; a frame without an xml is absent (NaN).
    """
    root = Path(root)
    data_root = next((d for d in (root / "TrainingData", root / "Data", root / "train" / "TrainingData")
                      if d.is_dir()), None)
    anno_root = next((d for d in (root / "Annotations", root / "train" / "Annotations")
                      if d.is_dir()), None)
    if data_root is None or anno_root is None:
        raise DatasetError(f"{root} is not an LSOTB-TIR training folder (needs TrainingData/ and Annotations/)")
    seq_dirs = []
    for part in sorted(p for p in data_root.iterdir() if p.is_dir()):
        subdirs = sorted(p for p in part.iterdir() if p.is_dir())
        seq_dirs.extend(subdirs if subdirs else [part])
    iterator: Iterable[Path] = seq_dirs
    if progress:
        from tqdm import tqdm
        iterator = tqdm(seq_dirs, desc="LSOTB-TIR train annotations", unit="seq")
    seqs = []
    for d in iterator:
        rel = d.relative_to(data_root)
        frames = list_images(d)
        if not frames:
            continue
        anno_dir = anno_root / rel
        gt = np.full((len(frames), 4), np.nan)
        for i, f in enumerate(frames):
            xml = anno_dir / (f.stem + ".xml")
            if xml.is_file():
                gt[i] = parse_voc_xml_box(xml.read_text(errors="replace"))
        seqs.append(Sequence(rel.as_posix(), frames, gt))
    if not seqs:
        raise DatasetError(f"no LSOTB-TIR training sequences under {data_root}")
    return seqs


# ----------------------------------------------------------------------------- PTB-TIR

def read_ptb_tir(root: Path) -> List[Sequence]:
    """PTB-TIR: ``<seq>/img/*`` + one annotation file per sequence, 1-based (see module docstring)."""
    root = Path(root)
    dirs = [root] if (root / "img").is_dir() else sorted(
        p for p in root.iterdir() if p.is_dir() and (p / "img").is_dir())
    seqs = []
    for d in dirs:
        preferred = [d / "groundtruth_rect.txt", d / "groundtruth.txt", d / f"{d.name}.txt"]
        gt_file = next((c for c in preferred if c.is_file()), None)
        if gt_file is None:
            txts = [p for p in d.glob("*.txt") if "attribute" not in p.name.lower()]
            if len(txts) != 1:
                raise DatasetError(f"PTB-TIR sequence {d.name!r}: cannot tell which file is the annotation")
            gt_file = txts[0]
        frames = list_images(d / "img")
        gt = _match_lengths(d.name, frames, _to_zero_based(_read_boxes_lenient(gt_file)))
        att = next((p for p in (d / "attributes.txt", d / "attribute.txt") if p.is_file()), None)
        tags = _read_flag_vector(att, PTB_TIR_ATTRIBUTES) if att else []
        seqs.append(Sequence(d.name, frames, gt, tags=tags))
    if not seqs:
        raise DatasetError(f"no PTB-TIR sequences (<seq>/img/) in {root}")
    return seqs


# ----------------------------------------------------------------------------- VOT / LTIR

def _vot_frame_dir(seq_dir: Path) -> Path:
    meta = seq_dir / "sequence"
    if meta.is_file():
        for line in meta.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip().startswith("channels.") and value.strip():
                folder = (seq_dir / value.strip()).parent
                if folder.is_dir():
                    return folder
    for sub in ("color", "ir", "img"):
        if (seq_dir / sub).is_dir() and list_images(seq_dir / sub):
            return seq_dir / sub
    return seq_dir


def read_vot(root: Path) -> List[Sequence]:
    """VOT-TIR2015/2017 / LTIR layout (see module docstring)."""
    root = Path(root)
    list_file = root / "list.txt"
    if list_file.is_file():
        names = [n.strip() for n in list_file.read_text().splitlines() if n.strip()]
        dirs = [root / n for n in names]
        missing = [n for n, d in zip(names, dirs) if not (d / "groundtruth.txt").is_file()]
        if missing:
            raise DatasetError(f"VOT list.txt names sequences without groundtruth.txt: {missing[:5]}")
    else:
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and (p / "groundtruth.txt").is_file())
    seqs = []
    for d in dirs:
        frames = list_images(_vot_frame_dir(d))
        gt = _match_lengths(d.name, frames, read_region_file(d / "groundtruth.txt"))
        attributes: Dict[str, np.ndarray] = {}
        for tag_file in sorted(list(d.glob("*.tag")) + list(d.glob("*.label"))):
            values = [float(v) if v.strip() else 0.0 for v in tag_file.read_text().splitlines()]
            flags = np.zeros(len(frames), dtype=bool)
            n = min(len(values), len(frames))
            flags[:n] = np.asarray(values[:n]) > 0
            attributes[tag_file.stem] = flags
        tags = sorted(k for k, v in attributes.items() if v.any())
        seqs.append(Sequence(d.name, frames, gt, attributes=attributes, tags=tags))
    if not seqs:
        raise DatasetError(f"no VOT sequences (<seq>/groundtruth.txt) in {root}")
    return seqs


# ----------------------------------------------------------------------------- GOT-10k

def _read_int_lines(path: Path) -> np.ndarray:
    return np.asarray([int(float(v)) for v in path.read_text().split()], dtype=np.int64)


def _got10k_split_dir(root: Path, split: Optional[str]) -> Path:
    if split is not None:
        if split not in GOT10K_SPLITS:
            raise DatasetError(f"unknown GOT-10k split {split!r}; valid: {', '.join(GOT10K_SPLITS)}")
        if (root / split).is_dir():
            return root / split
        if root.name == split:
            return root
        raise DatasetError(f"{root} has no GOT-10k '{split}' folder")
    if (root / "list.txt").is_file() or any(root.glob("*/groundtruth.txt")):
        return root
    for s in ("val", "train", "test"):
        if (root / s).is_dir():
            return root / s
    raise DatasetError(f"{root} is not a GOT-10k root or split folder")


def read_got10k(root: Path, split: Optional[str] = None) -> List[Sequence]:
    """GOT-10k train/val/test (see module docstring). ``split=None``: ``root`` is a split folder,
    or the GOT-10k root (then val, else train, else test is used)."""
    split_dir = _got10k_split_dir(Path(root), split)
    list_file = split_dir / "list.txt"
    if list_file.is_file():
        dirs = [split_dir / n.strip() for n in list_file.read_text().splitlines() if n.strip()]
    else:
        dirs = sorted(p.parent for p in split_dir.glob("*/groundtruth.txt"))
    seqs = []
    for d in dirs:
        gt_file = d / "groundtruth.txt"
        if not gt_file.is_file():
            raise DatasetError(f"GOT-10k sequence {d.name!r}: missing groundtruth.txt")
        frames = list_images(d)
        gt = read_box_file(gt_file)
        tags: List[str] = []
        if len(gt) == 1 and len(frames) > 1:
            # test split: only the first frame is annotated
            gt = np.vstack([gt, np.full((len(frames) - 1, 4), np.nan)])
            tags.append("gt_first_frame_only")
        gt = _match_lengths(d.name, frames, gt)
        attributes: Dict[str, np.ndarray] = {}
        absence = d / "absence.label"
        if absence.is_file():
            flags = _read_int_lines(absence)[:len(frames)]
            gt[:len(flags)][flags > 0] = np.nan
        for label in ("cover", "cut_by_image"):
            f = d / f"{label}.label"
            if f.is_file():
                attributes[label] = _read_int_lines(f)[:len(frames)]
        meta = d / "meta_info.ini"
        if meta.is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read_string("[meta]\n" + meta.read_text(errors="replace").split("\n", 1)[-1])
                cls = parser.get("meta", "major_class", fallback=None) or parser.get(
                    "meta", "object_class", fallback=None)
                if cls:
                    tags.append(cls.strip())
            except configparser.Error:
                pass  # metadata is optional; a malformed file must not block reading boxes
        seqs.append(Sequence(d.name, frames, gt, attributes=attributes, tags=tags))
    if not seqs:
        raise DatasetError(f"no GOT-10k sequences in {split_dir}")
    return seqs


# ----------------------------------------------------------------------------- dispatch

def detect_format(root: Path) -> str:
    """Guess the layout of ``root`` (one of ``FORMATS``); raises DatasetError if none fits."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if (root / "Annotations").is_dir() and ((root / "TrainingData").is_dir() or (root / "Data").is_dir()):
        return "lsotb_tir_train"
    subdirs = [p for p in root.iterdir() if p.is_dir()]
    if any((root / s / "list.txt").is_file() for s in GOT10K_SPLITS) or (
            (root / "list.txt").is_file() and any((d / "absence.label").is_file() for d in subdirs)):
        return "got10k"
    if any((d / "groundtruth.txt").is_file() and (d / "absence.label").is_file() for d in subdirs):
        return "got10k"
    if (root / "sequences").is_dir() or (root / "anno").is_dir():
        return "lsotb_tir"
    plain_like = (root / "img").is_dir() or any((d / "img").is_dir() for d in subdirs)
    if plain_like:
        if "ptb" in root.name.lower():
            return "ptb_tir"
        if any((d / f"{d.name}.txt").is_file() for d in subdirs if (d / "img").is_dir()):
            return "lsotb_tir"
        return "plain"
    if any((d / "groundtruth.txt").is_file() for d in subdirs) or (root / "list.txt").is_file():
        return "vot"
    raise DatasetError(
        f"cannot tell the dataset layout of {root}; pass a format (one of {', '.join(FORMATS)})")


_READERS: Dict[str, Callable[..., List[Sequence]]] = {
    "plain": lambda root, **kw: read_plain_dataset(root),
    "lsotb_tir": lambda root, **kw: read_lsotb_tir(root),
    "lsotb_tir_train": lambda root, progress=False, **kw: read_lsotb_tir_train(root, progress=progress),
    "ptb_tir": lambda root, **kw: read_ptb_tir(root),
    "vot": lambda root, **kw: read_vot(root),
    "got10k": lambda root, split=None, **kw: read_got10k(root, split=split),
}


def read_dataset(root: Path, format: Optional[str] = None, *, split: Optional[str] = None,
                 names: Optional[Iterable[str]] = None, progress: bool = False) -> List[Sequence]:
    """Read every sequence of a dataset folder.

    Args:
        root: the dataset folder.
        format: one of ``FORMATS`` or ``FORMAT_ALIASES``; ``None``/"auto" = ``detect_format(root)``.
        split: GOT-10k split (train/val/test); ignored by the other formats.
        names: keep only these sequence names (error if one is unknown).
        progress: tqdm bar while reading per-frame annotations (LSOTB-TIR training split).
    Raises:
        DatasetError (a ValueError) with a one-line message when the layout is not as expected.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    fmt = resolve_format(root, format)
    try:
        seqs = _READERS[fmt](root, split=split, progress=progress)
    except FileNotFoundError as exc:
        raise DatasetError(str(exc)) from exc
    except ValueError as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(str(exc)) from exc
    if names is not None:
        wanted = list(names)
        by_name = {s.name: s for s in seqs}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise DatasetError(f"unknown sequence(s) {unknown[:5]} in {root}")
        seqs = [by_name[n] for n in wanted]
    return seqs


__all__ = ["FORMATS", "FORMAT_ALIASES", "FORMAT_CHOICES", "resolve_format", "DatasetError",
           "detect_format", "read_dataset", "read_lsotb_tir",
           "read_lsotb_tir_train", "read_ptb_tir", "read_vot", "read_got10k", "read_region_file",
           "parse_voc_xml_box", "read_plain_sequence", "LSOTB_TIR_ATTRIBUTES", "PTB_TIR_ATTRIBUTES"]
