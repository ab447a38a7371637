"""Dataset readers on small hand-made folders of each public layout."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from fgsgt_ros.data.datasets import (DatasetError, detect_format, read_dataset, read_region_file)



def _frames(folder: Path, n: int, pattern: str = "{:08d}.jpg", start: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    img = np.full((24, 32), 90, np.uint8)
    for i in range(n):
        cv2.imwrite(str(folder / pattern.format(i + start)), img)


def test_lsotb_tir_eval_layout_reads_one_based_boxes_and_attributes(tmp_path):
    root = tmp_path / "LSOTB-TIR"
    _frames(root / "sequences" / "car_S_001" / "img", 3, "{:04d}.jpg")
    (root / "anno").mkdir(parents=True)
    (root / "anno" / "car_S_001.txt").write_text("11,21,5,6\n12,22,5,6\n0,0,0,0\n")
    (root / "att").mkdir()
    (root / "att" / "car_S_001.txt").write_text("1,0,0,0,1,0,0,0,0,0,0,1\n")
    assert detect_format(root) == "lsotb_tir"
    (seq,) = read_dataset(root)
    assert seq.name == "car_S_001" and len(seq) == 3
    np.testing.assert_allclose(seq.groundtruth[:2], [[10, 20, 5, 6], [11, 21, 5, 6]])
    assert seq.absent.tolist() == [False, False, True]
    assert seq.tags == ["TC", "OCC", "ARV"]


def test_lsotb_tir_training_layout_reads_voc_xml_per_frame(tmp_path):
    root = tmp_path / "train"
    _frames(root / "TrainingData" / "TIR_training_001" / "bird_001", 3)
    ann = root / "Annotations" / "TIR_training_001" / "bird_001"
    ann.mkdir(parents=True)
    xml = ("<annotation><size><width>32</width><height>24</height></size><object><name>bird</name>"
           "<bndbox><xmin>{}</xmin><ymin>4</ymin><xmax>{}</xmax><ymax>14</ymax></bndbox></object>"
           "</annotation>")
    (ann / "00000001.xml").write_text(xml.format(2, 12))
    (ann / "00000002.xml").write_text(xml.format(3, 13))
    (ann / "00000003.xml").write_text("<annotation><size></size></annotation>")  # no object
    assert detect_format(root) == "lsotb_tir_train"
    (seq,) = read_dataset(root)
    assert seq.name == "TIR_training_001/bird_001"
    np.testing.assert_allclose(seq.groundtruth[:2], [[2, 4, 10, 10], [3, 4, 10, 10]])
    assert seq.absent.tolist() == [False, False, True]


def test_ptb_tir_layout_is_one_based_and_needs_explicit_format_or_name(tmp_path):
    root = tmp_path / "data"
    _frames(root / "walk1" / "img", 2)
    (root / "walk1" / "groundtruth_rect.txt").write_text("5\t6\t7\t8\n6\t7\t7\t8\n")
    (root / "walk1" / "attributes.txt").write_text("0 1 0 0 0 0 0 0 1\n")
    assert detect_format(root) == "plain"  # indistinguishable by files
    (seq,) = read_dataset(root, "ptb_tir")
    np.testing.assert_allclose(seq.groundtruth, [[4, 5, 7, 8], [5, 6, 7, 8]])
    assert seq.tags == ["BC", "FM"]
    ptb = tmp_path / "PTB-TIR"
    (root).rename(ptb)
    assert detect_format(ptb) == "ptb_tir"


def test_vot_polygons_become_axis_aligned_boxes_and_tags_per_frame(tmp_path):
    root = tmp_path / "vot-tir2015"
    seq = root / "crouching"
    _frames(seq, 3)
    seq.joinpath("groundtruth.txt").write_text(
        "1,2,11,2,11,22,1,22\n"          # axis-aligned rectangle as a polygon
        "10,5,20,15,10,25,0,15\n"        # a diamond: bounding box x 0..20, y 5..25
        "3,4,5,6\n")                     # plain rectangle
    seq.joinpath("occlusion.tag").write_text("0\n1\n")
    (root / "list.txt").write_text("crouching\n")
    assert detect_format(root) == "vot"
    (s,) = read_dataset(root)
    np.testing.assert_allclose(s.groundtruth, [[1, 2, 10, 20], [0, 5, 20, 20], [3, 4, 5, 6]])
    assert s.attributes["occlusion"].tolist() == [False, True, False]
    assert s.tags == ["occlusion"]


def test_vot_new_layout_with_color_folder(tmp_path):
    root = tmp_path / "vot"
    seq = root / "boat"
    _frames(seq / "color", 2)
    (seq / "sequence").write_text("channels.color=color/%08d.jpg\nfps=30\n")
    (seq / "groundtruth.txt").write_text("1,1,4,4\n2,2,4,4\n")
    (s,) = read_dataset(root, "vot")
    assert [p.parent.name for p in s.frame_paths] == ["color", "color"]


def test_region_file_rejects_garbage_and_masks(tmp_path):
    f = tmp_path / "groundtruth.txt"
    f.write_text("1,2,3\n")
    with pytest.raises(DatasetError, match="expected 4 values"):
        read_region_file(f)
    f.write_text("m1,2,3,4\n")
    with pytest.raises(DatasetError, match="mask"):
        read_region_file(f)


def _got_seq(split_dir: Path, name: str, n: int, gt_rows: str, absence=None) -> None:
    d = split_dir / name
    _frames(d, n)
    (d / "groundtruth.txt").write_text(gt_rows)
    if absence is not None:
        (d / "absence.label").write_text("\n".join(map(str, absence)) + "\n")
        (d / "cover.label").write_text("\n".join("0" if a else "8" for a in absence) + "\n")
    (d / "meta_info.ini").write_text("[METAINFO]\nobject_class: dog\nmajor_class: mammal\n")


def test_got10k_splits_absence_and_first_frame_only_test(tmp_path):
    root = tmp_path / "GOT-10k"
    _got_seq(root / "val", "GOT-10k_Val_000001", 3, "1,2,3,4\n1,2,3,4\n1,2,3,4\n", [0, 1, 0])
    (root / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    _got_seq(root / "test", "GOT-10k_Test_000001", 3, "5,6,7,8\n")
    (root / "test" / "list.txt").write_text("GOT-10k_Test_000001\n")
    assert detect_format(root) == "got10k"
    (val,) = read_dataset(root, split="val")
    assert val.absent.tolist() == [False, True, False]
    assert val.attributes["cover"].tolist() == [8, 0, 8]
    assert "mammal" in val.tags
    (test,) = read_dataset(root, "got10k", split="test")
    np.testing.assert_allclose(test.groundtruth[0], [5, 6, 7, 8])
    assert "gt_first_frame_only" in test.tags and np.isnan(test.groundtruth[1:]).all()
    with pytest.raises(DatasetError, match="split"):
        read_dataset(root, "got10k", split="bogus")


def test_plain_layout_is_delegated_to_the_shared_reader(real_data_dir):
    seqs = {s.name: s for s in read_dataset(real_data_dir)}
    assert "possum_cp" in seqs and len(seqs) >= 1
    assert len(seqs["possum_cp"]) == 38 and int(seqs["possum_cp"].absent.sum()) == 10


def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_dataset(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="cannot tell"):
        read_dataset(tmp_path / "empty")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        read_dataset(tmp_path / "empty", "imagenet")
    root = tmp_path / "short"
    _frames(root / "seq" / "img", 3)
    (root / "seq" / "groundtruth_rect.txt").write_text("1,2,3,4\n")
    with pytest.raises(DatasetError, match="3 frames but 1"):
        read_dataset(root, "ptb_tir")
