"""OPE metrics: hand-checked cases and a cross-check against the got10k toolkit."""

import numpy as np
import pytest

from fgsgt_ros.evaluation.metrics import average_metrics, sequence_metrics


def test_hand_computed_sequence():
    gt = np.array([[10, 10, 10, 10]] * 4 + [[np.nan] * 4], dtype=float)
    pred = np.array([
        [10, 10, 10, 10],     # IoU 1, error 0
        [15, 10, 10, 10],     # IoU 50/150 = 1/3, error 5 px, normalised 0.5
        [10, 11, 10, 10],     # IoU 90/110 = 9/11, error 1 px, normalised 0.1
        [40, 40, 10, 10],     # IoU 0, error 30*sqrt(2) = 42.4 px
        [0, 0, 5, 5],         # absent frame: ignored
    ], dtype=float)
    m = sequence_metrics(pred, gt)
    assert m["frames"] == 4
    # success curve: thresholds 0, .05, ..., 1; IoUs {1, 1/3, 9/11, 0}
    ious = np.array([1, 1 / 3, 9 / 11, 0])
    expected = [(ious > t).mean() for t in np.linspace(0, 1, 21)]
    np.testing.assert_allclose(m["success_curve"], expected)
    assert m["success_curve"][0] == 0.75 and m["success_curve"][-1] == 0.0
    assert m["precision_20"] == 0.75            # errors 0, 5, 1 <= 20; 42.4 > 20
    assert m["precision_curve"][0] == 0.25      # only the exact hit at 0 px
    assert m["norm_precision_20"] == 0.5        # normalised 0, 0.1 <= 0.2; 0.5, 4.2 are not
    assert m["norm_precision_curve"][10] == 0.5 and m["norm_precision_curve"][50] == 0.75


def test_missing_predictions_count_as_misses_and_all_absent_gives_nan():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    pred = np.array([[0, 0, 10, 10], [np.nan] * 4])
    m = sequence_metrics(pred, gt)
    assert m["precision_20"] == 0.5 and m["success_curve"][0] == 0.5
    empty = sequence_metrics(pred, np.full((2, 4), np.nan))
    assert empty["frames"] == 0 and np.isnan(empty["success_auc"])
    avg = average_metrics([m, empty])
    assert avg["sequences"] == 1 and avg["success_auc"] == m["success_auc"]
    with pytest.raises(ValueError, match="predicted boxes"):
        sequence_metrics(pred[:1], gt)


def _random_case(seed, n=300):
    rng = np.random.default_rng(seed)
    gt = np.column_stack([rng.uniform(0, 300, n), rng.uniform(0, 200, n),
                          rng.uniform(5, 80, n), rng.uniform(5, 80, n)])
    noise = rng.normal(0, 1, (n, 4)) * np.array([12, 12, 8, 8])
    pred = gt + noise
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    pred[rng.random(n) < 0.1] += 200  # some complete misses
    return gt, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_success_and_precision_agree_with_got10k(seed):
    """got10k's ExperimentOTB scores (IoU without +1, 21 IoU bins, 51 centre-error bins,
    success = mean of the curve, precision = curve[20]) on the same boxes, to 1e-6."""
    otb = pytest.importorskip("got10k.experiments.otb")
    from got10k.utils.metrics import center_error, rect_iou

    gt, pred = _random_case(seed)
    pred[0] = gt[0]  # got10k also replaces frame 1 by the ground truth
    experiment = otb.ExperimentOTB.__new__(otb.ExperimentOTB)  # no dataset download
    experiment.nbins_iou, experiment.nbins_ce = 21, 51
    ious = rect_iou(pred.copy(), gt.copy())
    ces = center_error(pred.copy(), gt.copy())
    succ, prec = experiment._calc_curves(ious, ces)
    ours = sequence_metrics(pred, gt)
    np.testing.assert_allclose(ours["success_curve"], succ, atol=1e-6)
    np.testing.assert_allclose(ours["precision_curve"], prec, atol=1e-6)
    assert abs(ours["success_auc"] - float(np.mean(succ))) < 1e-6
    assert abs(ours["precision_20"] - float(prec[20])) < 1e-6
