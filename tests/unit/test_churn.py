"""ChurnModel on synthetic accounts drawn from a known logistic truth.

Risk rises with open tickets, falls with product usage, differs by segment and is lower
with an executive sponsor; some values are missing. A model that recovers the truth must
rank hold-out accounts nearly as well as the true probabilities do, be calibrated on
average, and explain a high-ticket account with tickets as its top driver.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from metrics_core.churn.model import ChurnModel

SEGMENT_EFFECT = {"smb": 0.8, "mid": 0.0, "enterprise": -0.8}


def _accounts(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tickets = rng.poisson(2.0, n).astype(float)
    usage = rng.normal(0.0, 1.0, n)
    segment = rng.choice(list(SEGMENT_EFFECT), n)
    sponsor = rng.random(n) < 0.5
    logit = (
        -1.8
        + 0.7 * (tickets - 2.0)
        - 1.2 * usage
        + np.array([SEGMENT_EFFECT[s] for s in segment])
        - 0.5 * sponsor
    )
    truth = expit(logit)
    churned = (rng.random(n) < truth).astype(int)
    frame = pd.DataFrame(
        {
            "open_tickets": tickets,
            "usage": usage,
            "segment": pd.Series(segment, dtype=object),
            "has_sponsor": sponsor,
            "noise": rng.normal(0.0, 1.0, n),
        }
    )
    # Sprinkle missing values (NaN in numeric columns, None in the categorical one).
    frame.loc[rng.random(n) < 0.05, "usage"] = np.nan
    frame.loc[rng.random(n) < 0.05, "segment"] = None
    return frame, churned, truth


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    train_x, train_y, _ = _accounts(4000, seed=1)
    test_x, test_y, test_truth = _accounts(2000, seed=2)
    model = ChurnModel().fit(train_x, train_y)
    return {
        "model": model,
        "train_x": train_x,
        "train_y": train_y,
        "test_x": test_x,
        "test_y": test_y,
        "test_truth": test_truth,
    }


def _model(data: dict[str, object]) -> ChurnModel:
    model = data["model"]
    assert isinstance(model, ChurnModel)
    return model


def test_probabilities_rank_well_and_are_calibrated(data: dict[str, object]) -> None:
    model = _model(data)
    test_x = data["test_x"]
    test_y = np.asarray(data["test_y"])
    truth = np.asarray(data["test_truth"])
    proba = model.predict_proba(test_x)

    assert proba.shape == (len(test_y),)
    assert np.all((proba >= 0) & (proba <= 1))
    auc = roc_auc_score(test_y, proba)
    oracle = roc_auc_score(test_y, truth)
    assert auc > 0.8
    assert auc > oracle - 0.02
    assert np.corrcoef(proba, truth)[0, 1] > 0.95
    # Calibration in the large, out of sample: within a few points of the observed rate.
    assert abs(proba.mean() - test_y.mean()) < 0.03
    # In sample, the intercept's score equation makes it exact (up to solver tolerance).
    train_y = np.asarray(data["train_y"])
    assert model.predict_proba(data["train_x"]).mean() == pytest.approx(train_y.mean(), abs=1e-4)


def test_explanations_are_exact_and_name_original_columns(data: dict[str, object]) -> None:
    model = _model(data)
    rows = pd.DataFrame(data["test_x"]).head(50)
    explanations = model.explain(rows)
    logits = model.log_odds(rows)

    assert model.feature_names == ["open_tickets", "usage", "segment", "has_sponsor", "noise"]
    assert len(explanations) == len(rows)
    np.testing.assert_allclose(
        logits, np.log(model.predict_proba(rows) / (1 - model.predict_proba(rows)))
    )
    for pairs, logit in zip(explanations, logits, strict=True):
        assert sorted(name for name, _ in pairs) == sorted(model.feature_names)
        values = [value for _, value in pairs]
        assert values == sorted(values, reverse=True)
        assert model.base_log_odds + sum(values) == pytest.approx(logit, abs=1e-6)


def test_high_ticket_account_is_driven_by_tickets(data: dict[str, object]) -> None:
    model = _model(data)
    row = pd.DataFrame(
        {
            "open_tickets": [12.0],
            "usage": [0.0],
            "segment": ["mid"],
            "has_sponsor": [True],
            "noise": [0.0],
        }
    )
    (pairs,) = model.explain(row)
    top_name, top_value = pairs[0]
    assert top_name == "open_tickets"
    assert top_value > 0
    assert model.predict_proba(row)[0] > 0.9


def test_learned_directions_match_the_truth(data: dict[str, object]) -> None:
    model = _model(data)
    base = {"open_tickets": 2.0, "usage": 0.0, "segment": "mid", "has_sponsor": False, "noise": 0}

    def risk(**changes: object) -> float:
        return float(model.predict_proba(pd.DataFrame([{**base, **changes}]))[0])

    assert risk(open_tickets=6.0) > risk()
    assert risk(usage=2.0) < risk()
    assert risk(segment="smb") > risk() > risk(segment="enterprise")
    assert risk(has_sponsor=True) < risk()


def test_missing_and_unseen_values_at_predict_time(data: dict[str, object]) -> None:
    model = _model(data)
    rows = pd.DataFrame(
        {
            "open_tickets": [np.nan, 3.0, None],
            "usage": [None, np.nan, 1.0],
            "segment": ["government", None, np.nan],  # unseen category, None, NaN
            "has_sponsor": [None, True, False],
            "noise": [0.1, 0.2, np.nan],
            "account_id": ["a1", "a2", "a3"],  # extra columns are ignored
        }
    )
    proba = model.predict_proba(rows)
    assert proba.shape == (3,)
    assert np.all(np.isfinite(proba))
    for pairs, logit in zip(model.explain(rows), model.log_odds(rows), strict=True):
        assert model.base_log_odds + sum(v for _, v in pairs) == pytest.approx(logit, abs=1e-6)
        assert "account_id" not in dict(pairs)


def test_column_order_at_predict_does_not_matter(data: dict[str, object]) -> None:
    model = _model(data)
    rows = pd.DataFrame(data["test_x"]).head(20)
    shuffled = rows[list(reversed(rows.columns))]
    np.testing.assert_array_equal(model.predict_proba(rows), model.predict_proba(shuffled))


def test_missing_column_is_named(data: dict[str, object]) -> None:
    model = _model(data)
    rows = pd.DataFrame(data["test_x"]).head(5).drop(columns=["usage"])
    with pytest.raises(ValueError, match="usage"):
        model.predict_proba(rows)
    with pytest.raises(ValueError, match="usage"):
        model.explain(rows)


def test_column_types_are_enforced(data: dict[str, object]) -> None:
    model = _model(data)
    rows = pd.DataFrame(data["test_x"]).head(3).copy()
    rows["open_tickets"] = ["many", "1", "2"]
    with pytest.raises(ValueError, match="open_tickets"):
        model.predict_proba(rows)
    rows = pd.DataFrame(data["test_x"]).head(3).copy()
    rows["has_sponsor"] = pd.Series(["yes", True, False], dtype=object)
    with pytest.raises(ValueError, match="has_sponsor"):
        model.predict_proba(rows)


def test_single_class_is_refused() -> None:
    x, _, _ = _accounts(50, seed=3)
    with pytest.raises(ValueError, match="single class"):
        ChurnModel().fit(x, np.zeros(50, dtype=int))


def test_bad_labels_and_shapes_are_refused() -> None:
    x, y, _ = _accounts(50, seed=4)
    with pytest.raises(ValueError, match="rows"):
        ChurnModel().fit(x, y[:-1])
    with pytest.raises(ValueError, match="0/1"):
        ChurnModel().fit(x, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="0/1"):
        ChurnModel().fit(x, np.where(y == 1, np.nan, 0.0))


def test_not_fitted_model_says_so() -> None:
    model = ChurnModel()
    assert not model.is_fitted
    with pytest.raises(NotFittedError):
        model.predict_proba(pd.DataFrame({"a": [1.0]}))


def test_deterministic_and_handles_awkward_dtypes() -> None:
    from decimal import Decimal

    frame = pd.DataFrame(
        {
            "arr": pd.Series([Decimal("1000.5"), Decimal(20), None, Decimal(300)] * 10),
            "plan": pd.Series(["a", "b", None, "a"] * 10, dtype="category"),
            "seats": pd.array([5, None, 7, 2] * 10, dtype="Int64"),
            "trial": pd.Series([True, None, False, True] * 10, dtype=object),
            "renewing": pd.array([True, None, False, False] * 10, dtype="boolean"),
            "region": ["eu", "us", None, "eu"] * 10,  # pandas' default string dtype
            "empty": [np.nan] * 40,
        }
    )
    y = np.array([1, 0, 0, 1, 0, 1, 1, 0] * 5)
    first = ChurnModel().fit(frame, y)
    second = ChurnModel().fit(frame, y.astype(bool))
    assert first.is_fitted
    assert first.feature_kinds == {
        "arr": "numeric",
        "plan": "categorical",
        "seats": "numeric",
        "trial": "boolean",
        "renewing": "boolean",
        "region": "categorical",
        "empty": "numeric",
    }
    np.testing.assert_array_equal(first.predict_proba(frame), second.predict_proba(frame))
    assert first.explain(frame.head(0)) == []
    assert first.predict_proba(frame.head(0)).shape == (0,)
