"""Backtest measures for churn-risk scores: ranking, top-decile capture and calibration.

Three questions a CS leader asks of a risk score, one function each:

- Does it rank churners above stayers? ``roc_auc`` (0.5 is a coin, 1 is perfect).
- If the team can only work the riskiest 10 % of the book, how many of those actually
  churn, and what share of all churners do they catch? ``top_decile``.
- When it says 30 %, do about 30 % churn? ``calibration_table``.

All functions take ``y_true`` as 0/1 (or booleans) and ``p`` as probabilities in [0, 1],
validate them the same way, and raise ``ValueError`` rather than return NaN when a measure
is undefined for the data (e.g. AUC with only one class).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import roc_auc_score


def _validate(y_true: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    y = np.asarray(y_true)
    scores = np.asarray(p, dtype=np.float64)
    if y.ndim != 1 or scores.ndim != 1:
        raise ValueError("y_true and p must be one-dimensional")
    if y.size != scores.size:
        raise ValueError(f"y_true has {y.size} values but p has {scores.size}")
    if y.size == 0:
        raise ValueError("y_true and p are empty")
    try:
        labels = y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y_true must hold 0/1 or True/False labels") from None
    if not np.all(np.isin(labels, (0.0, 1.0))):
        raise ValueError("y_true must hold 0/1 or True/False labels, with no missing values")
    if not np.all(np.isfinite(scores)) or np.any(scores < 0) or np.any(scores > 1):
        raise ValueError("p must hold probabilities in [0, 1], with no missing values")
    return labels.astype(np.int64), scores


def roc_auc(y_true: ArrayLike, p: ArrayLike) -> float:
    """Area under the ROC curve: the chance a random churner outranks a random stayer.

    Tied scores count one half (scikit-learn's trapezoidal rule, which equals the
    Mann–Whitney U statistic divided by n_pos · n_neg). Needs both classes.
    """
    labels, scores = _validate(y_true, p)
    if np.unique(labels).size < 2:
        raise ValueError("ROC AUC needs at least one churned and one retained row")
    return float(roc_auc_score(labels, scores))


def top_decile(y_true: ArrayLike, p: ArrayLike, fraction: float = 0.1) -> tuple[float, float, int]:
    """Precision and recall when the riskiest ``fraction`` of rows is flagged.

    Returns ``(precision, recall, n)`` where n = ceil(fraction · N) rows are flagged —
    rounding up so that a small book still flags at least one account.

    Ties at the cut-off are resolved by expectation, not by row order: if k flag slots
    remain for m rows sharing the cut-off score, each of those rows counts as k/m flagged.
    This is the average over all random tie-breaks, so the result is deterministic and does
    not depend on how the caller sorted the data (ordering by row index would reward or
    punish a score for, say, data sorted by outcome). Needs at least one churner, since
    recall is undefined otherwise.
    """
    labels, scores = _validate(y_true, p)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    positives = int(labels.sum())
    if positives == 0:
        raise ValueError("top_decile needs at least one churned row (recall is undefined)")
    n = math.ceil(fraction * labels.size)
    cutoff = np.sort(scores)[::-1][n - 1]
    above = scores > cutoff
    tied = scores == cutoff
    slots_left = n - int(above.sum())
    share_of_tied = slots_left / int(tied.sum())
    caught = float(labels[above].sum()) + share_of_tied * float(labels[tied].sum())
    return caught / n, caught / positives, n


def calibration_table(
    y_true: ArrayLike, p: ArrayLike, bins: int = 10, *, groups: ArrayLike | None = None
) -> pd.DataFrame:
    """Observed churn rate against mean predicted probability, per probability bin.

    Bins have equal width on [0, 1]: bin k holds k/bins ≤ p < (k+1)/bins, and p = 1 falls
    in the last bin. Equal-width bins keep the table readable as "the 20–30 % accounts",
    which is how a CS team uses it. Empty bins are left out (no rows, nothing to compare).

    Columns: ``bin_low``, ``bin_high``, ``count``, ``mean_predicted``, ``observed_rate``,
    one row per non-empty bin in increasing order of probability. With ``groups`` (one
    label per row, e.g. the renewal a prediction is about), a ``groups`` column counts the
    distinct groups in each bin: predictions about the same renewal share its outcome, so
    that count, not ``count``, is the sample size any interval around a rate should use.
    """
    labels, scores = _validate(y_true, p)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    group_labels = None if groups is None else np.asarray(groups, dtype=object)
    if group_labels is not None and group_labels.shape != labels.shape:
        raise ValueError(f"groups has {group_labels.size} labels but p has {scores.size}")
    index = np.minimum(np.floor(scores * bins).astype(np.int64), bins - 1)
    rows = []
    for k in np.unique(index):
        in_bin = index == k
        row: dict[str, float | int] = {
            "bin_low": int(k) / bins,
            "bin_high": (int(k) + 1) / bins,
            "count": int(in_bin.sum()),
            "mean_predicted": float(scores[in_bin].mean()),
            "observed_rate": float(labels[in_bin].mean()),
        }
        if group_labels is not None:
            row["groups"] = len(set(group_labels[in_bin].tolist()))
        rows.append(row)
    columns = ["bin_low", "bin_high", "count", "mean_predicted", "observed_rate"]
    return pd.DataFrame(rows, columns=[*columns, "groups"] if group_labels is not None else columns)
