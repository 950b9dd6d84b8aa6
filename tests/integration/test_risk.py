"""Churn risk: labels come from what happened at the next renewal; rules when data is thin."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest

from metrics_core.arr import Term
from metrics_core.config import Config
from metrics_core.db import Database
from metrics_core.risk import (
    BASE_LOG_ODDS,
    Method,
    RiskModel,
    churn_risk,
    cut_dates,
    train,
    training_set,
)
from tests import factories as f

AS_OF = dt.date(2026, 11, 20)
START = dt.date(2025, 11, 21)


def _book(db: Database) -> dict[str, int]:
    """A churns at its June renewal (low usage, a detractor); B renews; C renews next year."""
    ids = {}
    with db.writing() as session:
        for name, users, renewal, churned in (
            ("A", 2, dt.date(2026, 6, 30), True),
            ("B", 60, dt.date(2026, 6, 30), False),
            ("C", 50, dt.date(2027, 3, 31), False),
        ):
            account = f.account(session, name, name, seats=100, domain=None)
            ids[name] = account.id
            last_usage = renewal if churned else AS_OF
            days = (last_usage - START).days + 1
            f.daily_usage(session, account.id, last_usage, days, users)
            terms = [Term(f"{name}1", renewal - dt.timedelta(days=364), renewal, 10_000, churned)]
            if not churned and renewal < AS_OF:
                terms.append(
                    Term(
                        f"{name}2",
                        renewal + dt.timedelta(days=1),
                        renewal + dt.timedelta(days=365),
                        10_000,
                    )
                )
            f.contracts(session, account.id, terms)
        f.nps(session, ids["A"], "a1", 3, f.utc(2026, 3, 1))
    return ids


def test_cut_dates_leave_room_for_history_and_horizon() -> None:
    cuts = cut_dates(START, AS_OF, 120)
    assert cuts[-1] == AS_OF - dt.timedelta(days=120)
    assert cuts[0] >= START + dt.timedelta(days=60)
    assert all((b - a).days == 30 for a, b in itertools.pairwise(cuts))


def test_labels_are_the_outcome_of_the_next_resolved_renewal(db: Database) -> None:
    ids = _book(db)
    with db.reading() as session:
        data = training_set(session, AS_OF, Config(), START)
    labelled = data.y.groupby(level=0).max()
    assert labelled.to_dict() == {ids["A"]: 1, ids["B"]: 0}  # C's renewal is still open
    assert data.churned_accounts == 1
    # Every row's cut-off precedes the renewal it is labelled with by at most the horizon.
    assert all(dt.date(2026, 6, 30) - cut <= dt.timedelta(days=120) for cut in data.cuts)


def test_thin_history_falls_back_to_transparent_rules(db: Database) -> None:
    ids = _book(db)
    config = Config()
    as_of = dt.date(2026, 5, 1)  # A is still a customer
    with db.reading() as session:
        model = train(session, as_of, config)
        risk = churn_risk(session, as_of, config, model)
    assert model.method is Method.RULES
    a, b = risk.loc[ids["A"]], risk.loc[ids["B"]]
    assert a["method"] == "rules"
    # A: 2 of 100 seats active (< 0.2) and a latest NPS of 3 (≤ 6): base 10 % + 1.0 + 0.9.
    assert a["probability"] == pytest.approx(1 / (1 + math.exp(-(BASE_LOG_ODDS + 1.9))))
    assert [name for name, _ in a["drivers"]] == ["usage per seat", "latest NPS"]
    assert b["probability"] == pytest.approx(0.1)
    assert b["drivers"] == []


def test_rules_do_not_read_missing_usage_as_zero(db: Database) -> None:
    with db.writing() as session:
        quiet = f.account(session, "QUIET", "Quiet", domain=None).id
    with db.reading() as session:
        risk = churn_risk(session, AS_OF, Config(), RiskModel(Method.RULES, None, 0, 0))
    assert risk.loc[quiet, "drivers"] == []
    assert risk.loc[quiet, "probability"] == pytest.approx(0.1)
