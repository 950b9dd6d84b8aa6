"""`renewals [days]`: open renewals ahead with ARR at stake, health, risk and a forecast."""

from __future__ import annotations

import functools
import math

from bot.args import parse_count
from bot.context import BotContext
from bot.formatting import echoed, likelihood, money, percent
from bot.inbound import CommandRequest
from bot.reply import Fact, Metric, Outcome, Reply, Table, Tone
from metrics_core.revenue.cohorts import SbgFit
from metrics_core.revenue.renewals import RenewalsReport, renewals_report

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
    return renewals_reply(report, context.config.revenue.currency)


def renewals_reply(report: RenewalsReport, currency: str) -> Reply:
    """The reply to `renewals [days]`: ARR at stake, the riskiest renewals, the forecast."""
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
