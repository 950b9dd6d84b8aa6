"""`renewals [days]`: open renewals ahead with ARR at stake, health, risk and a forecast.

A bar chart spreads the renewals over the months of the horizon: the ARR renewing and
the ARR at stake (each renewal's ARR × its churn risk) per month, so a leader sees when
the risk falls due. Its months add up to the totals the answer prints.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

from bot.args import parse_count
from bot.context import BotContext
from bot.formatting import count, echoed, likelihood, money, percent
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Outcome, Reply, Series, Table, Tone
from metrics_core.revenue.cohorts import SbgFit
from metrics_core.revenue.renewals import (
    RenewalMonth,
    RenewalsReport,
    renewals_by_month,
    renewals_report,
)

USAGE = "renewals [days]"
DEFAULT_DAYS = 90
MAX_ROWS = 15
HOMOGENEOUS_FROM = 1_000  # alpha + beta beyond this: no heterogeneity left to report


def _forecast_note(fit: SbgFit) -> str:
    method = "Forecast: shifted-beta-geometric fit of past renewals by renewal number"
    if fit.alpha + fit.beta > HOMOGENEOUS_FROM:
        # The Beta mixing distribution has collapsed: every account churns at one rate.
        rate = fit.beta / (fit.alpha + fit.beta)
        return f"{method}; churn rates barely differ between accounts ({rate:.0%} renew each time)."
    return f"{method} (alpha {fit.alpha:.2f}, beta {fit.beta:.2f})."


async def renewals_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    days = DEFAULT_DAYS
    if words:
        parsed = parse_count(words[0].rstrip("dD"), high=730)
        if parsed is None or len(words) > 1:
            return Reply(
                heading=f"“{echoed(request.args)}” is not a number of days",
                paragraphs=(f"Usage: `{USAGE}`, e.g. `renewals 30` (1 to 730 days).",),
                outcome=Outcome.PROBLEM,
            )
        days = parsed
    today = context.today()
    model = await context.churn_model(today)
    report = await context.db.read(
        functools.partial(
            renewals_report, as_of=today, days=days, config=context.config, model=model
        )
    )
    return renewals_reply(report, context.config.revenue.currency, today)


def _bucket(month: RenewalMonth) -> str:
    if month.months == 3:
        return f"Q{(month.start.month - 1) // 3 + 1} {month.start.year}"
    return f"{month.start:%b %Y}"


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _by_month_chart(report: RenewalsReport, currency: str, today: dt.date) -> Chart:
    """ARR renewing and ARR at stake per month of the horizon, with the totals in words."""
    months = renewals_by_month(report.renewals, today, report.days)
    unit = "quarter" if months[0].months == 3 else "month"
    labels = [_bucket(month) for month in months]
    renewing = ", ".join(
        f"{label} {money(month.arr_due, currency)} ({month.due})"
        for label, month in zip(labels, months, strict=True)
    )
    at_stake = ", ".join(
        f"{label} {money(month.at_stake, currency)}"
        for label, month in zip(labels, months, strict=True)
    )
    last = today + dt.timedelta(days=report.days)
    summary = (
        f"{_day(today)} to {_day(last)}. ARR renewing (renewals): {renewing}; "
        f"total {money(sum(m.arr_due for m in months), currency)}. "
        f"ARR at stake (ARR × churn risk): {at_stake}; "
        f"total {money(sum(m.at_stake for m in months), currency)}."
    )
    unscored = sum(month.unscored for month in months)
    if unscored:
        has, adds = ("has", "adds") if unscored == 1 else ("have", "add")
        summary += (
            f" {count(unscored, 'renewal')} {has} no churn risk yet (beyond the churn "
            f"horizon) and {adds} nothing at stake."
        )
    return Chart(
        title=f"Renewals by {unit}, next {report.days} days",
        kind=ChartKind.BAR,
        categories=tuple(labels),
        series=(
            Series("ARR renewing", tuple(round(month.arr_due, 2) for month in months)),
            Series("ARR at stake", tuple(round(month.at_stake, 2) for month in months)),
        ),
        summary=summary,
        unit=currency,
        y_label=f"ARR ({currency})",
    )


def renewals_reply(report: RenewalsReport, currency: str, today: dt.date) -> Reply:
    """The reply to `renewals [days]`: ARR at stake, the riskiest renewals, the forecast.

    `today` is the first day of the horizon, where the chart's months start.
    """
    heading = f"Renewals in the next {report.days} days"
    if not report.renewals:
        return Reply(heading=heading, paragraphs=("No open renewals in this window.",))
    due = len(report.renewals)
    rows = tuple(
        (
            renewal.account,
            f"{renewal.renewal_date:%Y-%m-%d}",
            money(renewal.arr, currency),
            "—" if renewal.score is None else f"{renewal.score:.0f} {renewal.band}",
            likelihood(renewal.probability),
            renewal.owner or "unassigned",
        )
        for renewal in report.renewals[:MAX_ROWS]
    )
    facts = [
        Fact("Due", f"{due} renewals, {money(report.arr_due, currency)} ARR"),
        Fact(
            f"High risk (≥ {percent(report.high_risk_from, 0)})",
            f"{report.high_risk} renewals, {money(report.high_risk_arr, currency)} ARR",
        ),
    ]
    notes = []
    outlook = report.forecast
    if outlook.fit is not None and not math.isnan(outlook.expected_arr):
        cohort_loss = outlook.arr_due - outlook.expected_arr
        facts.append(
            Fact(
                "Expected to churn",
                f"{report.expected_churns:.0f} renewals, "
                f"{money(report.at_stake, currency)} by churn risk; "
                f"{outlook.due - outlook.expected_renewals:.0f}, "
                f"{money(cohort_loss, currency)} by the cohort forecast",
            )
        )
        notes.append(_reconciled(report.at_stake, cohort_loss, currency))
        notes.append(_forecast_note(outlook.fit))
    elif outlook.observed_rate is not None:
        facts.append(
            Fact(
                "Forecast",
                f"{outlook.observed_rate:.0%} renew, the observed first-renewal rate "
                "(too little history for a cohort model)",
            )
        )
    if due > MAX_ROWS:
        notes.append(f"Showing the {MAX_ROWS} with the most ARR at stake of {due}.")
    return Reply(
        heading=heading,
        metrics=(
            Metric(
                "ARR at stake",
                money(report.at_stake, currency),
                tone=Tone.BAD if report.high_risk else Tone.NEUTRAL,
                detail="each renewal's ARR × its churn risk",
            ),
        ),
        facts=tuple(facts),
        tables=(Table(("Account", "Renews", "ARR", "Health", "Risk", "Owner"), rows),),
        notes=tuple(notes),
        charts=(_by_month_chart(report, currency, today),),
    )


def _reconciled(at_stake: float, cohort_loss: float, currency: str) -> str:
    """One line on why churn risk and the cohort forecast expect different losses."""
    gap = at_stake - cohort_loss
    if abs(gap) <= 0.2 * max(at_stake, cohort_loss, 1.0):
        return (
            "Churn risk and the cohort forecast agree within 20 %: the accounts due now "
            "look like the customers who renewed at this point before."
        )
    direction = "more" if gap > 0 else "less"
    return (
        f"Churn risk expects {money(abs(gap), currency)} {direction} lost than the cohort "
        "forecast, which knows only how often customers renewed at each renewal number; "
        "churn risk also reads each account's usage, support, sentiment and contract "
        "signals today."
    )
