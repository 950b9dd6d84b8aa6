"""Movements and renewals derived from contract terms, against hand-worked histories."""

from __future__ import annotations

import datetime as dt

from metrics_core.revenue.arr import Movement, RenewalFact, Term, account_history
from metrics_core.store.models import ArrMovementKind as K
from metrics_core.store.models import RenewalStatus as S

D = dt.date


def test_grow_then_churn() -> None:
    terms = [
        Term("c2", D(2025, 1, 1), D(2025, 12, 31), 120_000, churned=True),
        Term("c1", D(2024, 1, 1), D(2024, 12, 31), 100_000),
    ]
    movements, renewals = account_history(terms)
    assert movements == [
        Movement("c1", K.NEW, 100_000, D(2024, 1, 1)),
        Movement("c2", K.EXPANSION, 20_000, D(2025, 1, 1)),
        Movement("c2", K.CHURN, 120_000, D(2025, 12, 31)),
    ]
    assert renewals == [
        RenewalFact("c1", D(2024, 12, 31), 100_000, S.RENEWED),
        RenewalFact("c2", D(2025, 12, 31), 120_000, S.CHURNED),
    ]


def test_contraction_and_an_open_renewal() -> None:
    movements, renewals = account_history(
        [
            Term("a", D(2024, 3, 1), D(2025, 2, 28), 50_000),
            Term("b", D(2025, 3, 1), D(2026, 2, 28), 40_000),
        ]
    )
    assert [(m.kind, m.amount) for m in movements] == [(K.NEW, 50_000), (K.CONTRACTION, 10_000)]
    assert [r.status for r in renewals] == [S.RENEWED, S.UPCOMING]


def test_flat_renewal_moves_nothing_and_a_win_back_is_new_business() -> None:
    movements, _ = account_history(
        [
            Term(1, D(2023, 1, 1), D(2023, 12, 31), 10_000),
            Term(2, D(2024, 1, 1), D(2024, 12, 31), 10_000, churned=True),
            Term(3, D(2025, 6, 1), D(2026, 5, 31), 8_000),
        ]
    )
    assert [(m.term_key, m.kind, m.amount) for m in movements] == [
        (1, K.NEW, 10_000),
        (2, K.CHURN, 10_000),
        (3, K.NEW, 8_000),
    ]


def test_no_terms_no_history() -> None:
    assert account_history([]) == ([], [])
