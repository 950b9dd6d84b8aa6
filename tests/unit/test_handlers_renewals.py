"""`renewals [days]` chart on a fake reader: ARR renewing and ARR at stake by month.

What a leader checks: the months add up to the totals the answer prints, a month with
nothing due is a real zero, renewals without a churn risk add nothing at stake (and the
words say so), and a long horizon is shown by quarter.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.formatting import money
from bot.inbound import Actor, CommandRequest, Platform
from bot.reply import Chart, Reply
from bot.router import Router
from metrics_core.health.scorecard import Band
from metrics_core.revenue.renewals import (
    DueRenewal,
    RenewalForecast,
    RenewalsReport,
    renewals_by_month,
    renewals_report,
)
from tests.fakes.reader import FakeReader
from tests.routing import offline_context

TODAY = dt.date(2026, 11, 20)
ME = Actor(Platform.CONSOLE, user_id="U0CSM1")
NO_FORECAST = RenewalForecast(0, 0.0, float("nan"), float("nan"), None, None)


def _renewal(name: str, day: dt.date, arr: float, probability: float | None) -> DueRenewal:
    return DueRenewal(
        account=name,
        owner="Dana Whitfield",
        renewal_date=day,
        arr=arr,
        score=None if probability is None else 55.0,
        band=None if probability is None else Band.YELLOW,
        probability=probability,
    )


def _report(days: int, renewals: tuple[DueRenewal, ...]) -> RenewalsReport:
    """A report whose totals are those of its renewals, as `renewals_report` makes them."""
    return RenewalsReport(
        days=days,
        renewals=renewals,
        arr_due=sum(r.arr for r in renewals),
        at_stake=sum(r.at_stake or 0.0 for r in renewals),
        expected_churns=sum(r.probability or 0.0 for r in renewals),
        high_risk_from=0.5,
        high_risk=0,
        high_risk_arr=0.0,
        forecast=NO_FORECAST,
    )


DUE = (
    _renewal("Acme Corp", dt.date(2026, 11, 28), 240_000.0, 0.35),
    _renewal("Initech", dt.date(2026, 12, 1), 60_000.0, 0.8),
    _renewal("Globex", dt.date(2026, 12, 31), 30_000.0, 0.1),
    _renewal("Umbrella", dt.date(2027, 2, 18), 90_000.0, None),  # the horizon's last day
)


async def _ask(text: str, report: RenewalsReport) -> Reply:
    context = offline_context(FakeReader({renewals_report: report}), today=TODAY)
    return await Router(context).handle(CommandRequest.parse(text, ME))


def _chart(reply: Reply) -> Chart:
    (chart,) = reply.charts
    return chart


def _series(chart: Chart) -> dict[str, tuple[float, ...]]:
    return {series.name: series.values for series in chart.series}


async def test_the_months_add_up_to_the_totals_the_answer_prints() -> None:
    reply = await _ask("renewals 90", _report(90, DUE))
    chart = _chart(reply)
    assert chart.title == "Renewals by month, next 90 days"
    assert chart.unit == "USD"
    assert chart.categories == ("Nov 2026", "Dec 2026", "Jan 2027", "Feb 2027")
    series = _series(chart)
    facts = {fact.label: fact.value for fact in reply.facts}
    (at_stake,) = reply.metrics
    assert facts["Due"] == f"4 renewals, {money(sum(series['ARR renewing']))} ARR"
    assert at_stake.value == money(sum(series["ARR at stake"]))
    assert sum(series["ARR renewing"]) == pytest.approx(sum(r.arr for r in DUE))
    assert sum(series["ARR at stake"]) == pytest.approx(sum(r.at_stake or 0.0 for r in DUE))
    # Nothing renews in January: a real zero. Acme is in November, Initech and Globex in
    # December, Umbrella (no churn risk yet) renews in February but adds nothing at stake.
    assert series["ARR renewing"] == (240_000.0, 90_000.0, 0.0, 90_000.0)
    assert series["ARR at stake"] == (84_000.0, 51_000.0, 0.0, 0.0)
    assert f"total {facts['Due'].split(', ')[1].removesuffix(' ARR')}." in chart.summary
    assert f"total {at_stake.value}." in chart.summary
    assert "Jan 2027 $0 (0)" in chart.summary
    assert "1 renewal has no churn risk yet" in chart.summary


async def test_a_long_horizon_is_shown_by_quarter() -> None:
    due = (*DUE, _renewal("Hooli", dt.date(2028, 11, 19), 10_000.0, 0.5))
    chart = _chart(await _ask("renewals 730", _report(730, due)))
    assert chart.title == "Renewals by quarter, next 730 days"
    assert chart.categories[0] == "Q4 2026"
    assert chart.categories[-1] == "Q4 2028"
    assert len(chart.categories) == 9
    assert sum(_series(chart)["ARR renewing"]) == pytest.approx(sum(r.arr for r in due))


async def test_no_renewals_draw_no_chart() -> None:
    reply = await _ask("renewals 30", _report(30, ()))
    assert reply.charts == ()


def test_a_renewal_outside_the_horizon_is_refused() -> None:
    late = _renewal("Late", dt.date(2027, 2, 19), 1_000.0, 0.5)
    with pytest.raises(ValueError, match="outside the horizon"):
        renewals_by_month((late,), TODAY, 90)
