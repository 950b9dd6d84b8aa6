"""NRR, GRR, logo retention and revenue churn from ARR movements, worked by hand.

The period in every test is calendar 2025: [2025-01-01, 2026-01-01).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from metrics_core.revenue.rates import RetentionResult, arr_by_account, clv, retention
from metrics_core.store.models import ArrMovementKind as K
from metrics_core.store.models import Segment

D = dt.date
START, END = D(2025, 1, 1), D(2026, 1, 1)
EXACT = 1e-12


def movements(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    columns = ["account_id", "kind", "amount", "effective_on", "segment"][: len(rows[0])]
    return pd.DataFrame(rows, columns=columns)


def book() -> pd.DataFrame:
    """Five accounts a CS leader can follow on paper.

    A  Enterprise  100,000 since 2024; +20,000 expansion in March 2025 (and +5,000 on
                   1 Jan 2026, outside the period)
    B  SMB          50,000 since 2024; −10,000 contraction in June 2025
    C  SMB          30,000 since 2024; churns 30,000 on 31 Jan 2025
    D  SMB          new in February 2025 with 20,000: not in the cohort
    E  SMB          churned at the end of 2023: no ARR at the start, not in the cohort
    """
    return movements(
        [
            ("A", K.NEW, 100_000.0, D(2024, 1, 1), "Enterprise"),
            ("A", K.EXPANSION, 20_000.0, D(2025, 3, 1), "Enterprise"),
            ("A", K.EXPANSION, 5_000.0, D(2026, 1, 1), "Enterprise"),
            ("B", "new", 50_000.0, D(2024, 6, 1), "SMB"),
            ("B", "contraction", 10_000.0, D(2025, 6, 1), "SMB"),
            ("C", K.NEW, 30_000.0, D(2024, 2, 1), "SMB"),
            ("C", K.CHURN, 30_000.0, D(2025, 1, 31), "SMB"),
            ("D", K.NEW, 20_000.0, D(2025, 2, 1), "SMB"),
            ("E", K.NEW, 10_000.0, D(2023, 1, 1), "SMB"),
            ("E", K.CHURN, 10_000.0, D(2023, 12, 31), "SMB"),
        ]
    )


def test_arr_by_account_counts_movements_strictly_before_the_day() -> None:
    arr = arr_by_account(book(), D(2025, 3, 1))
    # A's expansion is effective on 1 March, so it is not in A's ARR at the start of that day.
    assert arr.to_dict() == {"A": 100_000.0, "B": 50_000.0, "C": 0.0, "D": 20_000.0, "E": 0.0}
    assert arr.name == "arr"
    assert arr_by_account(book(), D(2025, 3, 2))["A"] == 120_000.0
    assert arr_by_account(book(), D(2020, 1, 1)).empty


def test_the_worked_cohort() -> None:
    # Cohort at 1 Jan 2025: A 100,000 + B 50,000 + C 30,000 = 180,000 (D is not yet a
    # customer, E already churned).
    # expansion 20,000 (A), contraction 10,000 (B), churn 30,000 (C)
    # NRR = (180,000 + 20,000 − 10,000 − 30,000)/180,000 = 160/180 = 0.8889
    # GRR = (180,000 − 10,000 − 30,000)/180,000 = 140/180 = 0.7778
    # logos: A and B still pay, C does not → 2/3
    # gross revenue churn = 40/180 = 0.2222, net revenue churn = (40 − 20)/180 = 0.1111
    # end ARR of the cohort = A 120,000 + B 40,000 + C 0 = 160,000 (= NRR × start)
    # new ARR = D's 20,000, reported on its own and not in NRR
    result = retention(book(), START, END)
    # Money and counts exactly; the ratios (repeating decimals) just below.
    without_ratios = dataclasses.replace(
        result,
        nrr=None,
        grr=None,
        logo_retention=None,
        gross_revenue_churn=None,
        net_revenue_churn=None,
    )
    assert without_ratios == RetentionResult(
        start=START,
        end=END,
        segment=None,
        accounts=3,
        retained_accounts=2,
        churned_accounts=1,
        won_back_accounts=0,
        start_arr=180_000.0,
        expansion=20_000.0,
        contraction=10_000.0,
        churn=30_000.0,
        end_arr=160_000.0,
        reactivated_arr=0.0,
        new_arr=20_000.0,
        new_accounts=1,
        nrr=None,
        grr=None,
        logo_retention=None,
        gross_revenue_churn=None,
        net_revenue_churn=None,
    )
    assert result.nrr == pytest.approx(160 / 180, abs=EXACT)
    assert result.grr == pytest.approx(140 / 180, abs=EXACT)
    assert result.logo_retention == pytest.approx(2 / 3, abs=EXACT)
    assert result.gross_revenue_churn == pytest.approx(40 / 180, abs=EXACT)
    assert result.net_revenue_churn == pytest.approx(20 / 180, abs=EXACT)


def test_grr_never_exceeds_100_percent() -> None:
    # One account, 100,000, expands by 25,000: NRR 125 %, GRR stays at exactly 100 %.
    grown = movements(
        [
            (1, K.NEW, 100_000.0, D(2024, 5, 1)),
            (1, K.EXPANSION, 25_000.0, D(2025, 5, 1)),
        ]
    )
    result = retention(grown, START, END)
    assert result.nrr == 1.25
    assert result.grr == 1.0
    assert result.net_revenue_churn == -0.25
    assert result.gross_revenue_churn == 0.0


def test_zero_starting_arr_gives_no_ratios_instead_of_dividing_by_zero() -> None:
    # Every account is new in the period: the cohort is empty.
    newcomers = movements(
        [
            (1, K.NEW, 10_000.0, D(2025, 2, 1)),
            (2, K.NEW, 5_000.0, D(2025, 3, 1)),
            (2, K.EXPANSION, 1_000.0, D(2025, 9, 1)),
        ]
    )
    result = retention(newcomers, START, END)
    assert (result.accounts, result.start_arr, result.end_arr) == (0, 0.0, 0.0)
    assert (result.nrr, result.grr, result.logo_retention) == (None, None, None)
    assert (result.gross_revenue_churn, result.net_revenue_churn) == (None, None)
    # Their later expansion is not cohort expansion; their first ARR is new business.
    assert (result.expansion, result.new_arr, result.new_accounts) == (0.0, 15_000.0, 2)


def test_no_movements_at_all() -> None:
    empty = pd.DataFrame(columns=["account_id", "kind", "amount", "effective_on"])
    result = retention(empty, START, END)
    assert (result.accounts, result.start_arr, result.new_arr, result.nrr) == (0, 0.0, 0.0, None)
    assert arr_by_account(empty, START).empty


def test_a_new_account_in_the_period_is_not_counted_in_nrr() -> None:
    with_newcomer = retention(book(), START, END)
    without = retention(book().query("account_id != 'D'"), START, END)
    assert with_newcomer.nrr == without.nrr
    assert with_newcomer.start_arr == without.start_arr == 180_000.0
    assert (with_newcomer.new_arr, without.new_arr) == (20_000.0, 0.0)


def test_segment_filter() -> None:
    # SMB cohort: B 50,000 + C 30,000 = 80,000; contraction 10,000, churn 30,000.
    # NRR = GRR = (80,000 − 10,000 − 30,000)/80,000 = 0.5; logos 1 of 2; D is SMB new ARR.
    smb = retention(book(), START, END, segment="SMB")
    assert (smb.segment, smb.accounts, smb.start_arr) == ("SMB", 2, 80_000.0)
    assert (smb.expansion, smb.contraction, smb.churn, smb.end_arr) == (
        0.0,
        10_000.0,
        30_000.0,
        40_000.0,
    )
    assert (smb.nrr, smb.grr, smb.logo_retention) == (0.5, 0.5, 0.5)
    assert (smb.new_arr, smb.new_accounts) == (20_000.0, 1)
    # Enterprise cohort: A alone, 100,000 → 120,000: NRR 1.2, GRR 1.0, no new business.
    enterprise = retention(book(), START, END, segment=Segment.ENTERPRISE)
    assert enterprise.segment == "Enterprise"
    assert (enterprise.accounts, enterprise.nrr, enterprise.grr) == (1, 1.2, 1.0)
    assert (enterprise.new_arr, enterprise.new_accounts) == (0.0, 0)
    # A segment nobody is in: empty cohort, no ratios.
    assert retention(book(), START, END, segment="Mid-market").nrr is None
    with pytest.raises(ValueError, match="segment"):
        retention(book()[["account_id", "kind", "amount", "effective_on"]], START, END, "SMB")


def test_logo_retention() -> None:
    # Four accounts of 10,000: one churns, one contracts to 1,000 (still a customer),
    # one expands, one stays flat → 3 of 4 logos retained.
    # GRR = (40,000 − 9,000 − 10,000)/40,000 = 0.525; NRR adds 5,000 → 0.65.
    four = movements(
        [
            (1, K.NEW, 10_000.0, D(2024, 1, 1)),
            (2, K.NEW, 10_000.0, D(2024, 1, 1)),
            (3, K.NEW, 10_000.0, D(2024, 1, 1)),
            (4, K.NEW, 10_000.0, D(2024, 1, 1)),
            (1, K.CHURN, 10_000.0, D(2025, 12, 31)),
            (2, K.CONTRACTION, 9_000.0, D(2025, 7, 1)),
            (3, K.EXPANSION, 5_000.0, D(2025, 7, 1)),
        ]
    )
    result = retention(four, START, END)
    assert (result.accounts, result.retained_accounts, result.churned_accounts) == (4, 3, 1)
    assert result.logo_retention == 0.75
    assert result.grr == 0.525
    assert result.nrr == 0.65


def test_won_back_accounts_count_as_retained_at_their_returning_arr() -> None:
    # G: 60,000, churns 30 Apr 2025, comes back 1 Aug 2025 at 70,000.
    #    The returning 60,000 undoes the churn; the extra 10,000 is expansion.
    # H: 40,000, churns 30 Apr 2025, comes back 1 Sep 2025 at 25,000.
    #    The returning 25,000 undoes part of the churn; the 15,000 shortfall is contraction
    #    (H is still a customer at the end, so it is not a lost logo).
    # Cohort 100,000 → 95,000: NRR = (100 + 10 − 15 − 0)/100 = 0.95, GRR = 85/100 = 0.85.
    # I: churned in 2023 and comes back in 2025 with 8,000 — outside the cohort, so that
    #    is new business, as metrics_core.revenue.arr treats a win-back.
    history = movements(
        [
            ("G", K.NEW, 60_000.0, D(2024, 5, 1)),
            ("G", K.CHURN, 60_000.0, D(2025, 4, 30)),
            ("G", K.NEW, 70_000.0, D(2025, 8, 1)),
            ("H", K.NEW, 40_000.0, D(2024, 5, 1)),
            ("H", K.CHURN, 40_000.0, D(2025, 4, 30)),
            ("H", K.NEW, 25_000.0, D(2025, 9, 1)),
            ("I", K.NEW, 8_000.0, D(2022, 1, 1)),
            ("I", K.CHURN, 8_000.0, D(2023, 1, 1)),
            ("I", K.NEW, 8_000.0, D(2025, 6, 1)),
        ]
    )
    result = retention(history, START, END)
    assert (result.accounts, result.retained_accounts, result.won_back_accounts) == (2, 2, 2)
    assert (result.expansion, result.contraction, result.churn) == (10_000.0, 15_000.0, 0.0)
    assert (result.start_arr, result.end_arr, result.reactivated_arr) == (
        100_000.0,
        95_000.0,
        95_000.0,
    )
    assert result.nrr == 0.95
    assert result.grr == 0.85
    assert result.logo_retention == 1.0
    assert (result.new_arr, result.new_accounts) == (8_000.0, 1)


def test_a_won_back_account_that_churns_again_is_lost() -> None:
    # 50,000; churns in March, returns at 50,000 in May, churns again in November.
    # The first churn is undone by the return; the second loses the logo: churn 50,000.
    history = movements(
        [
            (7, K.NEW, 50_000.0, D(2024, 1, 1)),
            (7, K.CHURN, 50_000.0, D(2025, 3, 1)),
            (7, K.NEW, 50_000.0, D(2025, 5, 1)),
            (7, K.CHURN, 50_000.0, D(2025, 11, 1)),
        ]
    )
    result = retention(history, START, END)
    assert (result.churn, result.contraction, result.expansion) == (50_000.0, 0.0, 0.0)
    assert (result.nrr, result.grr, result.logo_retention, result.won_back_accounts) == (
        0.0,
        0.0,
        0.0,
        0,
    )


def test_period_boundaries_are_start_inclusive_end_exclusive() -> None:
    edges = movements(
        [
            (1, K.NEW, 10_000.0, D(2024, 1, 1)),
            (1, K.CONTRACTION, 1_000.0, D(2025, 1, 1)),  # on start: in the period
            (1, K.CONTRACTION, 2_000.0, D(2026, 1, 1)),  # on end: next period
            (2, K.NEW, 3_000.0, D(2025, 1, 1)),  # new on start: new business, not cohort
        ]
    )
    result = retention(edges, START, END)
    assert (result.start_arr, result.contraction, result.end_arr) == (10_000.0, 1_000.0, 9_000.0)
    assert (result.accounts, result.new_arr) == (1, 3_000.0)


def test_cent_dust_does_not_keep_a_churned_account_alive() -> None:
    # 1,200.70 + 300.10 − 1,500.80 is 2.3e-13 in floating point, not 0.
    dusty = movements(
        [
            (1, K.NEW, 1_200.70, D(2024, 1, 1)),
            (1, K.EXPANSION, 300.10, D(2024, 6, 1)),
            (1, K.CHURN, 1_500.80, D(2024, 12, 31)),
            (2, K.NEW, 1_000.00, D(2024, 1, 1)),
        ]
    )
    assert arr_by_account(dusty, START).to_dict() == {1: 0.0, 2: 1_000.0}
    assert retention(dusty, START, END).accounts == 1


def test_dates_as_timestamps_and_kinds_as_strings_work_too() -> None:
    frame = book()
    frame["effective_on"] = pd.to_datetime(frame["effective_on"])
    frame["kind"] = frame["kind"].map(str)
    assert retention(frame, START, END) == retention(book(), START, END)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((1, "upsell", 10.0, D(2024, 1, 1)), "unknown ARR movement kind 'upsell'"),
        ((1, K.NEW, -10.0, D(2024, 1, 1)), "amount -10.0 is negative or not a number"),
        ((1, K.NEW, math.nan, D(2024, 1, 1)), "amount nan is negative or not a number"),
        ((1, None, 10.0, D(2024, 1, 1)), "kind is missing"),
    ],
)
def test_bad_movements_are_refused(row: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        retention(movements([row]), START, END)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="empty period"):
        retention(book(), END, START)
    with pytest.raises(ValueError, match="lack column"):
        arr_by_account(book().drop(columns="amount"), START)
    with pytest.raises(TypeError, match="date"):
        arr_by_account(book(), dt.datetime(2025, 1, 1, tzinfo=dt.UTC))


def test_clv() -> None:
    # 12,000 ARR × 80 % margin / 20 % annual churn = 48,000 (a five-year expected lifetime).
    assert clv(12_000, 0.8, 0.2) == pytest.approx(48_000.0, abs=1e-9)
    assert clv(10_000, 1.0, 0.5) == 20_000.0
    # No churn: the simple model's lifetime is infinite, so there is no finite CLV.
    assert clv(12_000, 0.8, 0.0) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((12_000, 0.0, 0.2), "gross_margin"),
        ((12_000, 1.2, 0.2), "gross_margin"),
        ((12_000, 0.8, 1.5), "annual_churn_rate"),
        ((12_000, 0.8, -0.1), "annual_churn_rate"),
        ((-1, 0.8, 0.2), "average_arr"),
        ((math.nan, 0.8, 0.2), "average_arr"),
    ],
)
def test_clv_validates_its_inputs(arguments: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clv(*arguments)
