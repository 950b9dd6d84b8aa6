"""Churn-risk model: a probability of churning per account, with the drivers behind it.

The model is an L2-regularised logistic regression behind a scikit-learn preprocessing
pipeline. Two reasons for a linear model rather than something more flexible:

- Exact explanations. The logit is linear in the preprocessed features z, so
  logit(x) = base + Σ_j coef_j · (z_j − mean_j), where ``base`` is the logit at the
  training-average feature vector. Each term is the feature's contribution in log-odds,
  with no approximation (a tree ensemble would need SHAP estimates for the same story).
  One-hot columns and missing-value indicators are added back to the column they came
  from, so a CSM sees "open_tickets +0.9", not "open_tickets_missingindicator".
- Calibration. Maximum likelihood makes the predicted probabilities match observed
  frequencies on average: with an unpenalised intercept (scikit-learn does not penalise it)
  the intercept's score equation forces the mean predicted probability on the training
  set to equal the observed churn rate. The L2 penalty (C=1 on standardised features)
  shrinks slopes a little, which trades a slight under-confidence at the extremes for
  stability on the small, collinear data sets CS teams have.

Column handling is decided at ``fit`` and enforced at ``predict``: numeric columns get
median imputation, missing indicators and standard scaling; booleans become 0/1 and are
treated as numeric; categoricals get a constant "missing" level and a one-hot encoding
that ignores categories unseen in training (their contribution is then relative to
"none of the known levels").
"""

from __future__ import annotations

import decimal
import numbers
from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ColumnKind = Literal["numeric", "boolean", "categorical"]

MISSING_CATEGORY = "<missing>"
RANDOM_STATE = 0


def _column_kind(name: str, column: pd.Series) -> ColumnKind:
    """Decide how a training column is encoded.

    Object columns are inspected, not assumed categorical: database drivers hand numeric
    columns over as ``Decimal`` objects and nullable booleans as ``True/False/None``
    objects, and one-hot encoding those would throw away their order.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
        or pd.api.types.is_complex_dtype(dtype)
    ):
        raise ValueError(
            f"column {name!r} has unsupported dtype {dtype}; convert dates to numbers "
            "(e.g. days since an event) before fitting"
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    values = column[column.notna()].tolist()
    if values and all(isinstance(v, bool | np.bool_) for v in values):
        return "boolean"
    if values and all(
        isinstance(v, numbers.Real | decimal.Decimal) and not isinstance(v, bool | np.bool_)
        for v in values
    ):
        return "numeric"
    return "categorical"


def _to_float(name: str, column: pd.Series) -> NDArray[np.float64]:
    try:
        converted = pd.to_numeric(column, errors="raise")
    except (ValueError, TypeError) as error:
        raise ValueError(f"column {name!r} was numeric at fit but holds {error}") from None
    result: NDArray[np.float64] = pd.Series(converted).to_numpy(dtype=np.float64, na_value=np.nan)
    return result


def _to_boolean(name: str, column: pd.Series) -> NDArray[np.float64]:
    if pd.api.types.is_bool_dtype(column.dtype):
        return _to_float(name, column)
    result = np.empty(len(column), dtype=np.float64)
    for i, value in enumerate(column.tolist()):
        if value is None or value is pd.NA or (isinstance(value, numbers.Real) and value != value):
            result[i] = np.nan  # value != value: NaN of any float type
        elif isinstance(value, bool | np.bool_ | numbers.Real) and value in (0, 1):
            result[i] = float(value)
        else:
            raise ValueError(f"column {name!r} was boolean at fit but holds {value!r}")
    return result


def _to_category(column: pd.Series) -> NDArray[np.object_]:
    """Strings for every present value, NaN for every missing one (None, NaN, pd.NA).

    scikit-learn's imputer recognises NaN but not None in object arrays, and the encoder
    cannot sort mixed str/int categories, so both are normalised here. Categories are
    therefore matched by their text: 1 and "1" are the same level, 1 and 1.0 are not.
    """
    missing = column.isna().to_numpy()
    values = np.array([str(v) for v in column.astype(object).tolist()], dtype=object)
    values[missing] = np.nan
    return values


class ChurnModel:
    """Probability of churn per row, with per-feature log-odds contributions.

    Deterministic: the lbfgs solver has no randomness and ``random_state`` is fixed anyway.
    ``C`` is scikit-learn's inverse L2 strength on standardised features.
    """

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000) -> None:
        self.C = C
        self.max_iter = max_iter
        self._kinds: dict[str, ColumnKind] = {}
        self._pipeline: Any = None
        self._column_slices: list[tuple[str, slice]] = []
        self._z_mean: NDArray[np.float64] = np.empty(0)
        self._coef: NDArray[np.float64] = np.empty(0)
        self._intercept = 0.0

    @property
    def is_fitted(self) -> bool:
        return self._pipeline is not None

    @property
    def feature_names(self) -> list[str]:
        """The input columns the model uses, in training order (the names ``explain`` uses)."""
        self._require_fitted()
        return list(self._kinds)

    @property
    def feature_kinds(self) -> dict[str, ColumnKind]:
        """How each column was encoded at fit; the same rules are enforced at predict."""
        self._require_fitted()
        return dict(self._kinds)

    @property
    def base_log_odds(self) -> float:
        """Logit at the training-average (preprocessed) row: what contributions add to."""
        self._require_fitted()
        return float(self._intercept + self._coef @ self._z_mean)

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> Self:
        """Fit on one row per account; ``y`` is 1/True for churned, 0/False for retained.

        Raises ``ValueError`` when ``y`` holds a single class: there is nothing to learn,
        and the caller is expected to fall back to rule-based risk.
        """
        kinds, features, z, labels = _fit_features(X, y)
        return self._fit_model(kinds, features, z, labels)

    @classmethod
    def fit_each(
        cls, X: pd.DataFrame, y: ArrayLike, strengths: Sequence[float], *, max_iter: int = 2000
    ) -> list[ChurnModel]:
        """One model per regularisation strength ``C``, sharing one fitted preprocessing.

        Choosing ``C`` on held-out data fits several models on the same rows; the
        preprocessing does not depend on ``C`` and costs far more than the regression.
        """
        kinds, features, z, labels = _fit_features(X, y)
        return [
            cls(C=c, max_iter=max_iter)._fit_model(kinds, features, z, labels) for c in strengths
        ]

    def _fit_model(
        self,
        kinds: dict[str, ColumnKind],
        features: ColumnTransformer,
        z_train: NDArray[np.float64],
        labels: NDArray[np.int64],
    ) -> Self:
        model = LogisticRegression(
            C=self.C,
            solver="lbfgs",
            max_iter=self.max_iter,
            tol=1e-8,
            random_state=RANDOM_STATE,
        )
        model.fit(z_train, labels)
        self._column_slices = [
            (name, features.output_indices_[f"c{i}"]) for i, name in enumerate(kinds)
        ]
        self._kinds = kinds
        self._z_mean = z_train.mean(axis=0)
        self._coef = np.asarray(model.coef_[0], dtype=np.float64)
        self._intercept = float(model.intercept_[0])
        self._pipeline = Pipeline([("features", features), ("model", model)])
        return self

    def predict_proba(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Churn probability per row (1-D; unlike scikit-learn, not a two-column array)."""
        self._require_fitted()
        prepared = self._prepare_for_predict(X)
        if len(prepared) == 0:
            return np.empty(0, dtype=np.float64)
        proba = self._pipeline.predict_proba(prepared)
        result: NDArray[np.float64] = np.asarray(proba[:, 1], dtype=np.float64)
        return result

    def log_odds(self, X: pd.DataFrame) -> NDArray[np.float64]:
        """Logit of the churn probability per row: ``base_log_odds`` + Σ contributions."""
        self._require_fitted()
        prepared = self._prepare_for_predict(X)
        if len(prepared) == 0:
            return np.empty(0, dtype=np.float64)
        result: NDArray[np.float64] = np.asarray(
            self._pipeline.decision_function(prepared), dtype=np.float64
        )
        return result

    def explain(self, X: pd.DataFrame) -> list[list[tuple[str, float]]]:
        """Per row, (column, contribution in log-odds) pairs, largest contribution first.

        A positive contribution raises the risk above the training-average account's, a
        negative one lowers it; they sum, with ``base_log_odds``, to the row's logit. Ties
        keep the training column order.
        """
        self._require_fitted()
        prepared = self._prepare_for_predict(X)
        if len(prepared) == 0:
            return []
        z = np.asarray(self._pipeline.named_steps["features"].transform(prepared), dtype=np.float64)
        terms = (z - self._z_mean) * self._coef
        per_column = np.column_stack(
            [terms[:, cols].sum(axis=1) for _, cols in self._column_slices]
        )
        names = [name for name, _ in self._column_slices]
        return [
            sorted(
                zip(names, (float(v) for v in row), strict=True),
                key=lambda pair: -pair[1],
            )
            for row in per_column
        ]

    def _require_fitted(self) -> None:
        if self._pipeline is None:
            raise NotFittedError("ChurnModel.fit has not been called")

    def _prepare_for_predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Columns seen at fit, coerced to their fit-time kinds; extra columns are ignored.

        Extra columns are tolerated because callers pass whole feature frames that also
        carry identifiers (account id, name); the model selects by name, never by position.
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame")
        missing = [name for name in self._kinds if name not in X.columns]
        if missing:
            raise ValueError(f"X is missing column(s) the model was fitted with: {missing}")
        return _prepare(X, self._kinds)


def _fit_features(
    X: pd.DataFrame, y: ArrayLike
) -> tuple[dict[str, ColumnKind], ColumnTransformer, NDArray[np.float64], NDArray[np.int64]]:
    """Validate the training data, decide each column's encoding and fit the encoders."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame")
    if X.shape[1] == 0:
        raise ValueError("X has no columns")
    if not all(isinstance(c, str) for c in X.columns):
        raise ValueError("column names must be strings")
    if X.columns.has_duplicates:
        duplicated = sorted(set(X.columns[X.columns.duplicated()]))
        raise ValueError(f"duplicate column names: {duplicated}")
    labels = _binary_labels(y)
    if labels.size != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {labels.size} labels")
    if np.unique(labels).size < 2:
        raise ValueError(
            "y holds a single class; a churn model needs both churned and retained rows"
        )
    kinds = {name: _column_kind(name, X[name]) for name in X.columns}
    transformers = [
        (f"c{i}", _encoder(kind), [name]) for i, (name, kind) in enumerate(kinds.items())
    ]
    features = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0, n_jobs=None)
    z = np.asarray(features.fit_transform(_prepare(X, kinds)), dtype=np.float64)
    return kinds, features, z, labels


def _encoder(kind: ColumnKind) -> Pipeline:
    if kind == "categorical":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
    # keep_empty_features: a column with no observed value in training still yields a
    # (constant, hence zero-weight) feature instead of silently vanishing with a warning.
    return Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
            ("scale", StandardScaler()),
        ]
    )


def _prepare(X: pd.DataFrame, kinds: dict[str, ColumnKind]) -> pd.DataFrame:
    columns: dict[str, NDArray[Any]] = {}
    for name, kind in kinds.items():
        column = X[name]
        if kind == "numeric":
            columns[name] = _to_float(name, column)
        elif kind == "boolean":
            columns[name] = _to_boolean(name, column)
        else:
            columns[name] = _to_category(column)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(X)))


def _binary_labels(y: ArrayLike) -> NDArray[np.int64]:
    values = np.asarray(y)
    if values.ndim != 1:
        raise ValueError("y must be one-dimensional")
    try:
        numeric = values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must hold 0/1 or True/False churn labels") from None
    if not np.all(np.isin(numeric, (0.0, 1.0))):
        raise ValueError("y must hold 0/1 or True/False churn labels, with no missing values")
    return numeric.astype(np.int64)
