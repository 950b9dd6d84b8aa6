"""`churn <account>` and `churn top [N]`: the probability of churning at the next renewal.

Risk is never health: a healthy-looking account can carry a high risk (a renewal close,
a champion gone quiet) and the reply always says which method produced the number.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from bot.accounts import resolve_account
from bot.actions import details_action
from bot.args import parse_count
from bot.context import BotContext
from bot.formatting import money, percent
from bot.handlers.health import not_a_customer
from bot.reply import Fact, Metric, Reply, Table, Tone
from bot.requests import CommandRequest
from metrics_core.risk import Method, RiskModel, account_risk, top_risks

USAGE = "churn <account> | churn top [N]"
DEFAULT_TOP = 10
MAX_TOP = 25


def _method_note(model: RiskModel, config_min: int) -> str:
    if model.method is Method.MODEL:
        return (
            f"Model: logistic regression trained on {model.trained_rows:,} past renewals "
            f"({model.churned_accounts} churned accounts); drivers in log-odds."
        )
    return (
        f"Rule-based risk: only {model.churned_accounts} churned accounts in the history "
        f"(a model needs {config_min}); each driver adds fixed log-odds to a 10 % base."
    )


def _tone(probability: float, high_from: float) -> Tone:
    if probability >= high_from:
        return Tone.BAD
    return Tone.WARNING if probability >= high_from / 2 else Tone.GOOD


def _drivers(drivers: list[tuple[str, float]], limit: int = 5) -> tuple[tuple[str, str], ...]:
    return tuple((name, f"+{value:.2f}") for name, value in drivers[:limit])


async def churn_command(request: CommandRequest, context: BotContext) -> Reply:
    words = request.args.split()
    if words and words[0].lower() == "top":
        count = parse_count(words[1], high=MAX_TOP) if len(words) > 1 else DEFAULT_TOP
        if count is None:
            return Reply(
                heading=f"“{words[1]}” is not a count",
                paragraphs=(f"Usage: `churn top [N]` with N from 1 to {MAX_TOP}.",),
            )
        return await _top(count, context)
    account = await resolve_account(request.args, context, USAGE, "churn")
    if isinstance(account, Reply):
        return account
    today = context.today()

    model = await context.db.read(lambda session: context.risk.get(session, today))
    row = await context.db.read(
        lambda session: account_risk(session, today, context.config, model, account.id)
    )
    if row is None:
        return not_a_customer(account, today)
    probability = float(row["probability"])
    churn_rules = context.config.churn
    facts = [Fact("ARR", money(row["arr"], context.config.revenue.currency))]
    if not pd.isna(row["days_to_renewal"]):
        renewal = today + dt.timedelta(days=int(row["days_to_renewal"]))
        facts.append(
            Fact("Next renewal", f"{renewal:%Y-%m-%d} ({int(row['days_to_renewal'])} days)")
        )
    drivers = _drivers(row["drivers"])
    return Reply(
        heading=f"{account.name} — churn risk",
        metrics=(
            Metric(
                label="Churn risk",
                value=percent(probability, 0),
                tone=_tone(probability, churn_rules.high_risk_from),
                detail=(
                    f"probability of churning at a renewal within {churn_rules.horizon_days} days"
                ),
            ),
        ),
        facts=tuple(facts),
        tables=(Table(("Driver raising the risk", "Effect"), drivers),) if drivers else (),
        paragraphs=() if drivers else ("Nothing stands out as raising this account's risk.",),
        notes=(_method_note(model, churn_rules.min_churned_accounts),),
        actions=(details_action(account.external_id),),
    )


async def _top(count: int, context: BotContext) -> Reply:
    today = context.today()
    model = await context.db.read(lambda session: context.risk.get(session, today))
    top = await context.db.read(
        lambda session: top_risks(session, today, context.config, model, count)
    )
    if top.empty:
        return Reply(
            heading="No customers to rank", paragraphs=("There are no current customers.",)
        )
    currency = context.config.revenue.currency
    rows = tuple(
        (
            row["account"],
            percent(row["probability"], 0),
            money(row["arr"], currency),
            "—" if pd.isna(row["days_to_renewal"]) else f"{int(row['days_to_renewal'])} d",
            row["drivers"][0][0] if row["drivers"] else "—",
            row["owner"] or "unassigned",
        )
        for _, row in top.iterrows()
    )
    at_stake = float((top["arr"].fillna(0) * top["probability"]).sum())
    return Reply(
        heading=f"Top {len(top)} churn risks",
        facts=(Fact("Risk-weighted ARR at stake", money(at_stake, currency)),),
        tables=(Table(("Account", "Risk", "ARR", "Renewal", "Main driver", "Owner"), rows),),
        notes=(_method_note(model, context.config.churn.min_churned_accounts),),
    )
