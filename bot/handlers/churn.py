"""`churn <account>` and `churn top [N]`: the probability of churning at the next renewal.

Risk is never health: a healthy-looking account can carry a high risk (a renewal close,
a champion gone quiet) and the reply always says which method produced the number.

`churn top` also draws how the whole book's risk is spread, customers per risk band with
the ARR in each, so the top ten are read against the rest of the book.
"""

from __future__ import annotations

import datetime as dt
import functools

from bot.account_choice import chosen_account, which_account
from bot.actions import details_action
from bot.args import parse_count
from bot.context import BotContext
from bot.formatting import count as counted
from bot.formatting import echoed, likelihood, money
from bot.handlers.health import not_a_customer
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Outcome, Reply, Series, Table, Tone
from metrics_core.churn.report import (
    AccountChurn,
    Driver,
    RiskBand,
    TopRisks,
    churn_report,
    top_risks,
)
from metrics_core.churn.risk import Method, RiskModel
from metrics_core.config import Config

USAGE = "churn <account> | churn top [N]"
DEFAULT_TOP = 10
MAX_TOP = 25


def method_note(model: RiskModel, config_min: int) -> str:
    """Which method produced the numbers, on how much history, and how it was checked."""
    if model.method is Method.MODEL:
        calibration = model.calibration
        checked = (
            f"calibrated on the {calibration.held_out_rows:,} predictions about renewals "
            f"decided after {calibration.held_out_from:%Y-%m-%d}"
            if calibration.held_out_from is not None
            else "not yet calibrated (too few later renewals to check it on)"
        )
        sample = model.sample
        drawn = (
            f"; learnt from a fixed sample of {sample.share * 100:.0f} % of the book's "
            f"{sample.accounts:,} accounts"
            if sample is not None
            else ""
        )
        return (
            f"Model: logistic regression on {model.trained_rows:,} month-end snapshots of "
            f"accounts whose next renewal was decided ({model.churned_accounts:,} churned "
            f"accounts{drawn}), {checked}; drivers in log-odds. `closeloop model evaluate` "
            "backtests it."
        )
    return (
        f"Rule-based risk: only {model.churned_accounts} churned accounts in the history "
        f"(a model needs {config_min}); each driver adds fixed log-odds to a 10 % base."
    )


def _tone(probability: float, high_from: float) -> Tone:
    if probability >= high_from:
        return Tone.BAD
    return Tone.WARNING if probability >= high_from / 2 else Tone.GOOD


def _drivers(drivers: tuple[Driver, ...], limit: int = 5) -> tuple[tuple[str, str], ...]:
    return tuple((name, f"+{value:.2f}") for name, value in drivers[:limit])


async def churn_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    if words and words[0].lower() == "top":
        count = parse_count(words[1], high=MAX_TOP) if len(words) > 1 else DEFAULT_TOP
        if count is None:
            return Reply(
                heading=f"“{echoed(words[1])}” is not a count",
                paragraphs=(f"Usage: `churn top [N]` with N from 1 to {MAX_TOP}.",),
                outcome=Outcome.PROBLEM,
            )
        today = context.today()
        model = await context.churn_model(today)
        top = await context.db.read(
            functools.partial(
                top_risks, as_of=today, config=context.config, model=model, count=count
            )
        )
        return top_reply(top, model, context.config)
    if not request.args:
        return which_account(USAGE)
    today = context.today()
    model = await context.churn_model(today)
    report = await context.db.read(
        functools.partial(
            churn_report, text=request.args, as_of=today, config=context.config, model=model
        )
    )
    return churn_reply(request.args, report, model, context.config, today)


def churn_reply(
    text: str, report: AccountChurn, model: RiskModel, config: Config, today: dt.date
) -> Reply:
    """The reply to `churn <text>`: the risk and its drivers, or why there is none."""
    account = chosen_account(text, report.resolution, "churn")
    if isinstance(account, Reply):
        return account
    risk = report.risk
    if risk is None:
        return not_a_customer(account, today)
    churn_rules = config.churn
    facts = [Fact("ARR", money(risk.arr, config.revenue.currency))]
    renewal = risk.renewal_date
    if renewal is not None:
        facts.append(Fact("Next renewal", f"{renewal:%Y-%m-%d} ({risk.days_to_renewal} days)"))
    if risk.probability is None:
        reason = (
            f"its next renewal ({renewal:%Y-%m-%d}) is more than {churn_rules.horizon_days} "
            "days away, beyond what today's signals can say"
            if renewal is not None
            else "it has no upcoming renewal on record (its contracts give it one: "
            "`closeloop import contracts FILE`)"
        )
        return Reply(
            heading=f"{account.name} — churn risk",
            facts=tuple(facts),
            paragraphs=(f"No churn probability for {account.name}: {reason}.",),
            actions=(details_action(account.external_id),),
        )
    drivers = _drivers(risk.drivers)
    return Reply(
        heading=f"{account.name} — churn risk",
        metrics=(
            Metric(
                label="Churn risk",
                value=likelihood(risk.probability),
                tone=_tone(risk.probability, churn_rules.high_risk_from),
                detail=f"probability of churning at its renewal on {renewal:%Y-%m-%d}",
            ),
        ),
        facts=tuple(facts),
        tables=(Table(("Driver raising the risk", "Effect"), drivers),) if drivers else (),
        paragraphs=() if drivers else ("Nothing stands out as raising this account's risk.",),
        notes=(method_note(model, churn_rules.min_churned_accounts),),
        actions=(details_action(account.external_id),),
    )


def _share(value: float) -> str:
    return f"{round(value * 100, 1):g} %"


def band_label(band: RiskBand) -> str:
    """ "< 5 %", "5–10 %", "≥ 40 %": a risk band as its chart and summary name it."""
    if band.high is None:
        return f"≥ {_share(band.low)}"
    if band.low <= 0:
        return f"< {_share(band.high)}"
    return f"{_share(band.low).removesuffix(' %')}–{_share(band.high)}"


def distribution_chart(top: TopRisks, config: Config) -> Chart | None:
    """Customers per churn-risk band, with their ARR; None when no customer has a risk."""
    scored = sum(band.accounts for band in top.bands)
    if not scored:
        return None
    currency = config.revenue.currency
    labels = tuple(band_label(band) for band in top.bands)
    spread = "; ".join(
        f"{label}: {counted(band.accounts, 'customer')}, {money(band.arr, currency)} ARR"
        for label, band in zip(labels, top.bands, strict=True)
    )
    summary = f"Churn risk of {counted(scored, 'customer')}: {spread}."
    if top.without_probability:
        summary += (
            f" {counted(top.without_probability, 'more customer')} without a probability "
            f"(no renewal within {config.churn.horizon_days} days on record)."
        )
    return Chart(
        title="Churn risk across the book",
        kind=ChartKind.BAR,
        categories=labels,
        series=(Series("Customers", tuple(float(band.accounts) for band in top.bands)),),
        summary=summary,
        x_label="Churn risk at the next renewal",
        y_label="Customers",
    )


def top_reply(top: TopRisks, model: RiskModel, config: Config) -> Reply:
    """The reply to `churn top [N]`: the riskiest customers and the ARR they put at stake."""
    if not top.accounts:
        return Reply(
            heading="No customers to rank", paragraphs=("There are no current customers.",)
        )
    currency = config.revenue.currency
    rows = tuple(
        (
            ranked.account,
            likelihood(ranked.risk.probability),
            money(ranked.risk.renewal_arr, currency),
            "—" if ranked.risk.days_to_renewal is None else f"{ranked.risk.days_to_renewal} d",
            ranked.risk.drivers[0][0] if ranked.risk.drivers else "—",
            ranked.owner or "unassigned",
        )
        for ranked in top.accounts
    )
    chart = distribution_chart(top, config)
    return Reply(
        heading=f"Top {len(top.accounts)} churn risks",
        facts=(Fact("ARR at stake at their renewals", money(top.at_stake, currency)),),
        tables=(
            Table(("Account", "Risk", "Renewal ARR", "Renews in", "Main driver", "Owner"), rows),
        ),
        charts=() if chart is None else (chart,),
        notes=(method_note(model, config.churn.min_churned_accounts),),
    )
