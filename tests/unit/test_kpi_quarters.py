"""NRR and GRR by quarter for the `kpis` chart, on a hand-made book of ARR movements.

The expected rates are worked out by hand from the design's definitions (NRR = kept ARR
with expansion over the cohort's starting ARR; GRR without expansion), quarter by quarter;
quarters before the book was on record are left out, and the running quarter is so marked.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics_core.revenue.kpis import QUARTERS, quarterly_retention
from metrics_core.revenue.rates import retention

D = dt.date
MOVES = pd.DataFrame(
    [
        # account, kind, amount, effective_on, segment
        (1, "new", 100_000.0, D(2025, 2, 10), "Enterprise"),
        (2, "new", 50_000.0, D(2025, 5, 1), "SMB"),
        (1, "expansion", 20_000.0, D(2025, 8, 1), "Enterprise"),
        (2, "churn", 50_000.0, D(2025, 11, 15), "SMB"),
    ],
    columns=["account_id", "kind", "amount", "effective_on", "segment"],
)
TODAY = D(2026, 1, 20)
KNOWN_END = TODAY + dt.timedelta(days=1)


def test_each_quarter_since_the_book_is_on_record_with_its_own_rates() -> None:
    quarters = quarterly_retention(MOVES, TODAY, KNOWN_END, None)

    # Q1 2025 opened before the first contract was recorded: no cohort on record.
    assert [q.quarter for q in quarters] == [
        D(2025, 4, 1),
        D(2025, 7, 1),
        D(2025, 10, 1),
        D(2026, 1, 1),
    ]
    rates = [(q.retention.nrr, q.retention.grr) for q in quarters]
    assert rates == [
        pytest.approx((1.0, 1.0)),  # account 1 alone, untouched; account 2 is new business
        pytest.approx((170 / 150, 1.0)),  # 150k at the start, 20k expansion
        pytest.approx((120 / 170, 120 / 170)),  # 170k at the start, 50k churned
        pytest.approx((1.0, 1.0)),  # 120k, quiet so far
    ]
    assert [q.complete for q in quarters] == [True, True, True, False]
    assert quarters[-1].retention.end == KNOWN_END


def test_a_quarter_reads_what_the_same_quarter_asked_as_a_period_reads() -> None:
    (q4,) = [q for q in quarterly_retention(MOVES, TODAY, KNOWN_END, None) if q.quarter.month == 10]
    assert q4.retention == retention(MOVES, D(2025, 10, 1), D(2026, 1, 1))


def test_a_segment_lists_only_quarters_with_its_customers() -> None:
    smb = quarterly_retention(MOVES, TODAY, KNOWN_END, "SMB")
    # SMB's only account arrived in Q2 and churned in Q4: a cohort in Q3 and Q4 only.
    assert [(q.quarter, q.retention.accounts) for q in smb] == [
        (D(2025, 7, 1), 1),
        (D(2025, 10, 1), 1),
    ]
    assert smb[-1].retention.grr == 0.0


def test_a_long_book_shows_the_last_quarters_only() -> None:
    first = pd.DataFrame(
        [(9, "new", 1_000.0, D(2015, 1, 5), "SMB")],
        columns=["account_id", "kind", "amount", "effective_on", "segment"],
    )
    quarters = quarterly_retention(pd.concat([first, MOVES]), TODAY, KNOWN_END, None)
    assert len(quarters) == QUARTERS
    assert quarters[-1].quarter == D(2026, 1, 1)
    assert quarters[0].quarter == D(2024, 4, 1)


def test_an_empty_book_has_no_quarters() -> None:
    assert quarterly_retention(MOVES.iloc[0:0], TODAY, KNOWN_END, None) == ()
