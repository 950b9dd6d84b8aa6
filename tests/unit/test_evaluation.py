"""Backtest measures on arrays small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics_core.churn.evaluation import calibration_table, roc_auc, top_decile


def test_roc_auc_counts_correctly_ordered_pairs() -> None:
    # Pairs (churner, stayer): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes → 3/4.
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.2, 0.9]) == 1.0
    assert roc_auc([1, 0], [0.2, 0.9]) == 0.0


def test_roc_auc_ties_count_half() -> None:
    # Churner 0.6 beats stayer 0.2 (1) and ties stayer 0.6 (1/2): 1.5 / 2.
    assert roc_auc([0, 0, 1], [0.2, 0.6, 0.6]) == pytest.approx(0.75)
    assert roc_auc([False, True], [0.5, 0.5]) == pytest.approx(0.5)


def test_roc_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="one churned and one retained"):
        roc_auc([0, 0, 0], [0.1, 0.2, 0.3])


def test_top_decile_distinct_scores() -> None:
    # 20 rows → 2 flagged: scores 0.99 (churned) and 0.98 (stayed). 4 churners in all.
    y = [1, 0] + [1, 1, 1] + [0] * 15
    p = [0.99, 0.98] + [0.5, 0.4, 0.3] + [0.1] * 15
    precision, recall, n = top_decile(y, p)
    assert n == 2
    assert precision == pytest.approx(0.5)
    assert recall == pytest.approx(0.25)


def test_top_decile_rounds_the_flag_count_up() -> None:
    y = [1] + [0] * 24
    p = [0.9, *np.linspace(0.1, 0.5, 24).tolist()]
    precision, recall, n = top_decile(y, p)
    assert n == 3  # ceil(2.5)
    assert precision == pytest.approx(1 / 3)
    assert recall == 1.0
    assert top_decile([1, 0, 0], [0.7, 0.2, 0.1]) == (1.0, 1.0, 1)  # ceil(0.3): one flagged


def test_top_decile_ties_share_the_last_slots_evenly() -> None:
    # 10 rows → 1 slot; two rows tie at the top, one churned: it counts as half flagged.
    y = [1, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    p = [0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.1]
    assert top_decile(y, p) == pytest.approx((0.5, 0.25, 1))
    # Row order does not change the answer.
    assert top_decile(y[::-1], p[::-1]) == top_decile(y, p)
    # 3 slots: 0.9, 0.9 flagged outright, 1 slot left for 7 rows at 0.1 holding 0 churners.
    assert top_decile(y, p, fraction=0.3) == pytest.approx((2 / 3, 1.0, 3))


def test_top_decile_validation() -> None:
    with pytest.raises(ValueError, match="at least one churned"):
        top_decile([0, 0], [0.3, 0.4])
    with pytest.raises(ValueError, match="fraction"):
        top_decile([0, 1], [0.3, 0.4], fraction=0.0)


def test_calibration_table_by_hand() -> None:
    y = [0, 0, 1, 1, 1, 0]
    p = [0.05, 0.15, 0.12, 0.95, 1.0, 0.5]
    table = calibration_table(y, p, bins=10)
    expected = pd.DataFrame(
        {
            "bin_low": [0.0, 0.1, 0.5, 0.9],
            "bin_high": [0.1, 0.2, 0.6, 1.0],
            "count": [1, 2, 1, 2],
            "mean_predicted": [0.05, 0.135, 0.5, 0.975],
            "observed_rate": [0.0, 0.5, 0.0, 1.0],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_calibration_table_bin_edges() -> None:
    # 0.5 opens the upper bin; 1.0 belongs to the last bin; 0.0 to the first.
    table = calibration_table([0, 1, 1, 0], [0.0, 0.5, 1.0, 0.49], bins=2)
    assert table["count"].tolist() == [2, 2]
    assert table["observed_rate"].tolist() == [0.0, 1.0]
    assert table["mean_predicted"].tolist() == pytest.approx([0.245, 0.75])
    single = calibration_table([1, 0], [0.3, 0.8], bins=1)
    assert single["count"].tolist() == [2]


@pytest.mark.parametrize(
    ("y", "p", "message"),
    [
        ([0, 1], [0.2], "2 values but p has 1"),
        ([0, 2], [0.2, 0.3], "0/1"),
        ([0, 1], [0.2, 1.3], r"\[0, 1\]"),
        ([0, 1], [0.2, float("nan")], r"\[0, 1\]"),
        ([], [], "empty"),
    ],
)
def test_inputs_are_validated(y: list[float], p: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        calibration_table(y, p)
    with pytest.raises(ValueError, match=message):
        roc_auc(y, p)


def test_calibration_table_rejects_bad_bins() -> None:
    with pytest.raises(ValueError, match="bins"):
        calibration_table([0, 1], [0.1, 0.9], bins=0)
