"""Cost to retain, books, activity counts, renewals due and the renewal forecast."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.inbound import Actor, CommandRequest, Platform
from metrics_core.churn.risk import Method, RiskModel
from metrics_core.config import Config, Revenue
from metrics_core.revenue.arr import Term
from metrics_core.revenue.efficiency import activity_counts, books, cost_to_retain, touch_window
from metrics_core.revenue.renewals import forecast, renewals_due
from metrics_core.store.db import Database
from metrics_core.store.models import ActivityKind, CsCost, Segment, TeamRole
from tests import factories as f
from tests.routing import router_for

AS_OF = dt.date(2026, 11, 20)
D = dt.date


def _month(year: int, month: int) -> tuple[D, D]:
    first = D(year, month, 1)
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def test_cost_to_retain_against_the_benchmark(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session)
        f.contracts(session, acme.id, [Term("C1", D(2024, 1, 1), D(2027, 12, 31), 100_000)])
        smb = f.account(session, "S", "Small", segment=Segment.SMB, domain=None)
        f.contracts(session, smb.id, [Term("S1", D(2024, 1, 1), D(2027, 12, 31), 20_000)])
        for n in range(12):  # 500 Enterprise and 100 SMB a month, December 2025 to November 2026
            first, last = _month(2025 + (n + 11) // 12, (n + 11) % 12 + 1)
            session.add(
                CsCost(period_start=first, period_end=last, segment=Segment.ENTERPRISE, amount=500)
            )
            session.add(
                CsCost(period_start=first, period_end=last, segment=Segment.SMB, amount=100)
            )
        session.add(CsCost(period_start=D(2024, 1, 1), period_end=D(2024, 1, 31), amount=99_999))
    year = (D(2025, 12, 1), D(2026, 12, 1))
    with db.reading() as session:
        everyone = cost_to_retain(session, *year)
        enterprise = cost_to_retain(session, *year, segment=Segment.ENTERPRISE)
        march = cost_to_retain(session, D(2026, 3, 1), D(2026, 4, 1))
        half_recorded = cost_to_retain(session, D(2025, 6, 1), D(2026, 6, 1))
        mid_month = cost_to_retain(session, D(2026, 3, 16), D(2026, 4, 16))
    assert everyone.cs_cost == pytest.approx(7_200)  # the 2024 row is outside the year
    assert everyone.arr_managed == 120_000
    assert everyone.covered_days == everyone.days == 365
    assert everyone.ratio == pytest.approx(0.06)
    assert everyone.position == "between the median (6 %) and the 75th percentile (10 %)"
    assert enterprise.ratio == pytest.approx(6_000 / 100_000)
    # A month's cost is annualised, not read as a year that cost a twelfth.
    assert march.ratio == pytest.approx(600 * 365 / 31 / 120_000)
    # Cost recorded for half the period: the ratio is the recorded days', annualised.
    assert half_recorded.covered_days == 182
    assert half_recorded.ratio == pytest.approx(3_600 * 365 / 182 / 120_000)
    # Months that straddle the period count pro rata.
    assert mid_month.cs_cost == pytest.approx(600 * 16 / 31 + 600 * 15 / 30)
    with db.reading() as session:
        nothing = cost_to_retain(session, D(2020, 1, 1), D(2021, 1, 1))
    assert nothing.ratio is None


def test_cost_to_retain_without_cs_costs_is_missing_not_zero(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session)
        f.contracts(session, acme.id, [Term("C1", D(2024, 1, 1), D(2027, 12, 31), 100_000)])
    with db.reading() as session:
        crc = cost_to_retain(session, D(2025, 11, 21), D(2026, 11, 21))
    assert crc.arr_managed == 100_000
    assert crc.ratio is None
    assert crc.missing == "no CS cost recorded"
    assert "lean" not in crc.position


async def test_kpis_without_cs_costs_say_how_to_provide_them(db: Database) -> None:
    with db.writing() as session:
        acme = f.account(session)
        f.contracts(session, acme.id, [Term("C1", D(2024, 1, 1), D(2027, 12, 31), 100_000)])
        gone = f.account(session, "G", "Gone", domain=None)
        f.contracts(
            session, gone.id, [Term("G1", D(2025, 1, 1), D(2026, 6, 30), 10_000, churned=True)]
        )
    config = Config()
    router = router_for(db, config, today=AS_OF)
    reply = await router.handle(CommandRequest.parse("kpis", Actor(Platform.CONSOLE, "U1")))
    facts = {fact.label: fact.value for fact in reply.facts}
    assert facts["Cost to retain"] == (
        "no CS cost recorded for all segments, last 12 months; import it with "
        "`closeloop import cs_costs FILE` (columns period_start, period_end, amount, segment)"
    )
    assert "assumed 80 % gross margin" in facts["Customer lifetime value"]

    configured = Config(revenue=Revenue(gross_margin=0.7))
    router = router_for(db, configured, today=AS_OF)
    reply = await router.handle(CommandRequest.parse("kpis", Actor(Platform.CONSOLE, "U1")))
    clv = {fact.label: fact.value for fact in reply.facts}["Customer lifetime value"]
    assert clv.endswith(" at 70 % gross margin")


def test_books_and_activity_counts(db: Database) -> None:
    with db.writing() as session:
        jo = f.team_member(session, "jo@closeloop.example", name="Jo")
        f.team_member(session, "al@closeloop.example", name="Al")
        f.team_member(session, "mo@closeloop.example", name="Mo", role=TeamRole.MANAGER)
        acme = f.account(session, owner=jo)
        f.contracts(session, acme.id, [Term("C1", D(2024, 1, 1), D(2027, 12, 31), 120_000)])
        gone = f.account(session, "G", "Gone", owner=jo, domain=None)
        f.contracts(
            session, gone.id, [Term("G1", D(2024, 1, 1), D(2025, 12, 31), 9_000, churned=True)]
        )
        small = f.account(session, "S", "Small", owner=jo, segment=Segment.SMB, domain=None)
        f.contracts(session, small.id, [Term("S1", D(2026, 1, 1), D(2026, 12, 31), 5_000)])
        for n, (when, kind, where) in enumerate(
            [
                (f.utc(2026, 11, 2), ActivityKind.CALL, acme.id),
                (f.utc(2026, 11, 9), ActivityKind.CALL, acme.id),
                (f.utc(2026, 11, 10), ActivityKind.EMAIL, small.id),
                (f.utc(2026, 10, 15), ActivityKind.QBR, acme.id),
                (f.utc(2026, 6, 1), ActivityKind.CALL, acme.id),  # before the window
            ]
        ):
            f.activity(session, where, f"A{n}", when, kind, by=jo)
    with db.reading() as session:
        today = books(session, AS_OF)
        enterprise = books(session, AS_OF, segment=Segment.ENTERPRISE)
        end_of_2025 = books(session, D(2025, 12, 30))
        window = touch_window(D(2025, 11, 21), D(2026, 11, 21), months=2)
        counts = activity_counts(session, *window)
        enterprise_counts = activity_counts(session, *window, segment=Segment.ENTERPRISE)
    assert today[["csm", "accounts", "arr"]].values.tolist() == [
        ["Jo", 2, 125_000.0],
        ["Al", 0, 0.0],
    ]
    assert enterprise[["csm", "accounts", "arr"]].values.tolist() == [["Jo", 1, 120_000.0]]
    # The day before the churned term ended it still counted; the SMB term had not started.
    assert end_of_2025[["csm", "accounts", "arr"]].values.tolist() == [
        ["Jo", 2, 129_000.0],
        ["Al", 0, 0.0],
    ]
    assert window == (D(2026, 10, 1), D(2026, 11, 21))
    assert counts.values.tolist() == [["Jo", "2026-10", 0, 1, 0, 0], ["Jo", "2026-11", 2, 0, 0, 1]]
    assert enterprise_counts.values.tolist() == [
        ["Jo", "2026-10", 0, 1, 0, 0],
        ["Jo", "2026-11", 2, 0, 0, 0],
    ]
    assert touch_window(D(2026, 8, 15), D(2026, 11, 21)) == (D(2026, 8, 15), D(2026, 11, 21))


def _renewal_book(db: Database) -> None:
    """20 first renewals (15 renewed), 12 second renewals of those (10 renewed), 3 due soon."""
    with db.writing() as session:
        for n in range(20):
            account = f.account(session, f"R{n}", f"Renewer {n}", domain=None)
            first = Term(f"R{n}a", D(2024, 1, 1), D(2024, 12, 31), 1_000, churned=n >= 15)
            terms = [first]
            if n < 15:
                terms.append(
                    Term(f"R{n}b", D(2025, 1, 1), D(2025, 12, 31), 1_000, churned=10 <= n < 12)
                )
            if n < 10:
                terms.append(Term(f"R{n}c", D(2026, 1, 1), D(2026, 12, 31), 1_000))
            f.contracts(session, account.id, terms)


def test_forecast_fits_the_renewal_history(db: Database) -> None:
    _renewal_book(db)
    with db.reading() as session:
        result = forecast(session, AS_OF, 60)
    # Life table: 15/20 renew the first time, 10/12 the second: 1000, 750, 625 survivors.
    assert result.fit is not None
    assert result.fit.survival(1) == pytest.approx(0.75, abs=0.01)
    assert result.fit.survival(2) == pytest.approx(0.625, abs=0.01)
    # The 10 renewals due on 2026-12-31 are each account's third.
    assert result.due == 10
    assert result.arr_due == 10_000
    assert result.expected_renewals == pytest.approx(10 * result.fit.retention_rate(3))
    assert 0.8 < result.fit.retention_rate(3) < 1  # the sBG's rising retention


def test_renewals_due_with_health_and_risk(db: Database) -> None:
    _renewal_book(db)
    rules = RiskModel(Method.RULES, None, 0, 0)
    with db.reading() as session:
        soon = renewals_due(session, AS_OF, 30, Config(), rules)
        later = renewals_due(session, AS_OF, 60, Config(), rules)
    assert soon.empty
    assert len(later) == 10
    assert set(later["renewal_date"]) == {D(2026, 12, 31)}
    assert later["arr"].sum() == 10_000
    assert later["probability"].between(0, 1).all()
    assert later["band"].notna().all()
