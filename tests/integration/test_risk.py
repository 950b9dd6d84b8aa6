"""Churn risk: labels come from what happened at the next renewal; rules when data is thin."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest

from metrics_core.churn.risk import (
    BASE_LOG_ODDS,
    Method,
    RiskModel,
    SharedTraining,
    churn_risk,
    cut_dates,
    train,
    training_set,
)
from metrics_core.config import Config
from metrics_core.revenue.arr import Term
from metrics_core.store.db import Database
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


def test_cut_dates_are_a_grid_from_the_start_of_history() -> None:
    cuts = cut_dates(START, AS_OF)
    assert cuts[0] == START + dt.timedelta(days=60)  # two usage windows before the first
    assert cuts[-1] < AS_OF
    assert all((b - a).days == 30 for a, b in itertools.pairwise(cuts))
    # The cut-offs known on an earlier day are the start of today's, so a backtest can
    # replay exactly the training set the service had on that day.
    earlier = cut_dates(START, dt.date(2026, 6, 1))
    assert cuts[: len(earlier)] == earlier


def test_labels_are_the_outcome_of_the_next_renewal(db: Database) -> None:
    ids = _book(db)
    with db.reading() as session:
        data = training_set(session, AS_OF, Config(), START)
    labelled = data.y.groupby(level=0).max()
    assert labelled.to_dict() == {ids["A"]: 1, ids["B"]: 0}  # C's renewal is still open
    assert data.churned_accounts == 1
    # Each row is labelled by the first renewal after its cut-off, decided by today.
    assert set(data.renewals) == {dt.date(2026, 6, 30)}
    assert all(cut < dt.date(2026, 6, 30) for cut in data.cuts)
    # What a model trained on 1 June could have known: no renewal decided after it.
    assert data.known_at(dt.date(2026, 6, 1)).y.empty
    assert len(data.known_at(dt.date(2026, 6, 30)).y) == len(data.y)


def test_days_trained_in_one_run_see_what_their_own_day_would_have(db: Database) -> None:
    ids = _book(db)
    config = Config()
    shared = SharedTraining(AS_OF)
    with db.reading() as session:
        for day in (dt.date(2026, 6, 29), dt.date(2026, 6, 30), dt.date(2026, 9, 1), AS_OF):
            alone = training_set(session, day, config, START)
            together = shared.training_set(session, day, config, START)
            assert together.X.equals(alone.X), day
            assert together.y.tolist() == alone.y.tolist(), day
            assert together.cuts.tolist() == alone.cuts.tolist(), day
            assert together.renewals.tolist() == alone.renewals.tolist(), day
    # 29 June knew no outcome yet (an empty set, as read alone); today knows both.
    assert together.y.groupby(level=0).max().to_dict() == {ids["A"]: 1, ids["B"]: 0}


def test_a_renewal_beyond_the_horizon_gets_no_probability(db: Database) -> None:
    ids = _book(db)
    config = Config()
    config = config.model_copy(
        update={"churn": config.churn.model_copy(update={"horizon_days": 60})}
    )
    with db.reading() as session:
        risk = churn_risk(session, AS_OF, config, RiskModel(Method.RULES, None, 0, 0))
    # C renews on 31 March 2027, 131 days after AS_OF: today's signals say little about it.
    assert math.isnan(risk.loc[ids["C"], "probability"])
    assert risk.loc[ids["C"], "drivers"] == []


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
        renewal = AS_OF + dt.timedelta(days=90)
        f.contracts(session, quiet, [Term("Q1", renewal - dt.timedelta(days=364), renewal, 5_000)])
    with db.reading() as session:
        risk = churn_risk(session, AS_OF, Config(), RiskModel(Method.RULES, None, 0, 0))
    assert risk.loc[quiet, "drivers"] == []
    assert risk.loc[quiet, "probability"] == pytest.approx(0.1)


def test_a_book_larger_than_the_model_needs_learns_from_a_fixed_sample(db: Database) -> None:
    ids = _book(db)
    config = Config()
    with db.reading() as session:
        whole = training_set(session, AS_OF, config, START)
        assert whole.sample is None  # three accounts: all of them fit
        sampled = training_set(session, AS_OF, config, START, at_most=2)
        again = training_set(session, AS_OF, config, START, at_most=2)
    assert sampled.sample is not None
    assert (sampled.sample.accounts, round(sampled.sample.share, 3)) == (3, 0.667)
    # The sample picks accounts, never rows: a sampled account keeps every cut-off, with
    # exactly the rows the whole book gave it, and the same accounts are drawn every day.
    labelled = [ids["A"], ids["B"]]
    drawn = sampled.sample.holds(np.array(labelled))
    assert set(sampled.X.index) == {i for i, kept in zip(labelled, drawn, strict=True) if kept}
    held = sampled.sample.holds(whole.X.index.to_numpy())
    assert sampled.X.equals(whole.X[held])
    assert sampled.y.tolist() == whole.y[held].tolist()
    assert again.X.equals(sampled.X)
