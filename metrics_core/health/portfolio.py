"""The whole book at once: every customer's health and churn risk from one set of inputs.

Digests, App Home and `churn top` want both numbers for many accounts; gathering the
inputs once and scoring them twice is what keeps the portfolio view within a second or two.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.orm import Session

from metrics_core.churn.risk import RiskModel, churn_risk
from metrics_core.config import Config
from metrics_core.health.inputs import account_inputs
from metrics_core.health.scorecard import score_frame
from metrics_core.store.frames import account_names


def portfolio(
    session: Session,
    as_of: dt.date,
    config: Config,
    model: RiskModel,
    owner_id: int | None = None,
    *,
    with_names: bool = False,
) -> pd.DataFrame:
    """Per customer: inputs, component scores, `score`, `band`, `probability`, `drivers`.

    With `owner_id`, only that CSM's book; `with_names` adds `account` and `owner`.
    """
    inputs = account_inputs(session, as_of, config)
    if owner_id is not None:
        inputs = inputs.take(inputs.columns["owner_id"] == owner_id)
    health = score_frame(inputs, config)
    risk = churn_risk(session, as_of, config, model, inputs=inputs)
    result = inputs.frame().join(health).join(risk)
    return result.join(account_names(session, result.index)) if with_names else result
