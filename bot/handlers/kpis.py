"""`kpis [period] [segment]`: the numbers a CS leader is held to, for a period."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from bot.args import Period, parse_scope, trailing
from bot.context import BotContext
from bot.formatting import money, percent
from bot.reply import Fact, Metric, Reply, Table, Tone
from bot.requests import CommandRequest
from metrics_core.efficiency import CostToRetain, activity_counts, books, cost_to_retain
from metrics_core.frames import movements
from metrics_core.models import Segment
from metrics_core.revenue import RetentionResult, clv, retention

USAGE = "kpis [period] [segment]"
DEFAULT_DAYS = 365


def _touch_table(touches: pd.DataFrame) -> Table:
    """Touchpoints per CSM per month: a month a column, calls/QBRs/trainings/emails per cell."""
    months = sorted(set(touches["month"]))
    cells: dict[str, dict[str, str]] = {}
    for row in touches.itertuples():
        cells.setdefault(row.csm, {})[row.month] = (
            f"{row.call}/{row.qbr}/{row.training}/{row.email}"
        )
    return Table(
        ("CSM", *months),
        tuple((csm, *(cells[csm].get(m, "0/0/0/0") for m in months)) for csm in sorted(cells)),
        title="Touchpoints per month (calls/QBRs/trainings/emails)",
    )


def _tone(ratio: float | None, good: float, fair: float) -> Tone:
    if ratio is None:
        return Tone.NEUTRAL
    return Tone.GOOD if ratio >= good else Tone.WARNING if ratio >= fair else Tone.BAD


async def kpis_command(request: CommandRequest, context: BotContext) -> Reply:
    today = context.today()
    scope = parse_scope(request.args, today)
    segment = scope.segment
    if scope.rest:
        return Reply(
            heading=f"I don't understand “{scope.rest[0]}”",
            paragraphs=(
                f"Usage: `{USAGE}`; a period like `12m`, `90d`, `2026`, `2026-q3`, "
                "`2026-10`, `ytd`, and a segment: Enterprise, Mid-market or SMB.",
            ),
        )
    period = scope.period or trailing(today, DEFAULT_DAYS, "last 12 months")
    end = min(period.end, today + dt.timedelta(days=1))
    moves = await context.db.read(lambda session: movements(session, until=today))
    result = retention(moves, period.start, end, segment.value if segment else None)
    crc = await context.db.read(
        lambda session: cost_to_retain(session, today, days=365, segment=segment)
    )
    team = await context.db.read(lambda session: books(session, today))
    touches = await context.db.read(lambda session: activity_counts(session, today, months=3))
    return kpis_reply(result, period, segment, crc, team, touches, context)


def kpis_reply(
    result: RetentionResult,
    period: Period,
    segment: Segment | None,
    crc: CostToRetain,
    team: pd.DataFrame,
    touches: pd.DataFrame,
    context: BotContext,
) -> Reply:
    currency = context.config.revenue.currency
    scope = segment.value if segment else "all segments"
    heading = f"KPIs — {scope}, {period.label}"
    if result.accounts == 0:
        return Reply(
            heading=heading, paragraphs=("No customers with ARR at the start of the period.",)
        )
    scale = 365 / max(1, (period.end - period.start).days)
    annual_logo_churn = min(1.0, (1 - (result.logo_retention or 1.0)) * scale)
    lifetime_value = clv(
        result.end_arr / max(1, result.retained_accounts),
        context.config.revenue.gross_margin,
        annual_logo_churn,
    )
    metrics = (
        Metric("NRR", percent(result.nrr), tone=_tone(result.nrr, 1.0, 0.9)),
        Metric("GRR", percent(result.grr), tone=_tone(result.grr, 0.9, 0.8)),
        Metric(
            "Logo retention",
            percent(result.logo_retention),
            tone=_tone(result.logo_retention, 0.9, 0.8),
        ),
    )
    facts = [
        Fact(
            "Starting ARR",
            f"{money(result.start_arr, currency)} across {result.accounts:,} accounts",
        ),
        Fact("Expansion", money(result.expansion, currency)),
        Fact("Contraction", money(result.contraction, currency)),
        Fact(
            "Churned ARR", f"{money(result.churn, currency)} ({result.churned_accounts} accounts)"
        ),
        Fact(
            "Gross / net revenue churn",
            f"{percent(result.gross_revenue_churn)} / {percent(result.net_revenue_churn)}",
        ),
        Fact(
            "New business (not in NRR)",
            f"{money(result.new_arr, currency)} ({result.new_accounts} accounts)",
        ),
        Fact(
            "Customer lifetime value",
            "—"
            if lifetime_value is None
            else f"{money(lifetime_value, currency)} at "
            f"{percent(context.config.revenue.gross_margin, 0)} gross margin",
        ),
    ]
    if crc.ratio is not None:
        facts.append(
            Fact(
                "Cost to retain (12 months)",
                f"{percent(crc.ratio)} of ARR managed — {crc.position}",
            )
        )
    tables = []
    if len(team):
        tables.append(
            Table(
                ("CSM", "Accounts", "ARR"),
                tuple(
                    (row.csm, str(row.accounts), money(row.arr, currency))
                    for row in team.head(10).itertuples()
                ),
                title="Books (largest first)",
            )
        )
    if len(touches):
        tables.append(_touch_table(touches))
    return Reply(
        heading=heading,
        metrics=metrics,
        facts=tuple(facts),
        tables=tuple(tables),
        notes=(
            "NRR and GRR cover the accounts that had ARR at the start; GRR never exceeds 100 %.",
            "Cost-to-retain benchmark: median about 6 %, 25th percentile 3 %, 75th 10 % "
            "(a survey cited at the Customer Success Festival, 2022).",
        ),
    )
