"""`health <account>`: an account's health score, what drives it and how it moved.

`health validity [segment]` asks instead whether the score deserves belief: how it did on
past renewals (`bot.handlers.validity`). Every health answer carries "This score looks
wrong", which records who disagreed and why.

How it moved is shown twice: the headline's changes over 7 and 30 days, and a line of the
last quarter, a point a week from the stored daily snapshots, drawn against the health
bands so a reader sees how near the next band the account is. Without stored history the
answer says so rather than drawing a line through one point.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from bot.account_choice import chosen_account, which_account
from bot.actions import details_action
from bot.charts import band_thresholds, number
from bot.context import BotContext
from bot.handlers.validity import VALIDITY, looks_wrong_action, validity_command
from bot.inbound import CommandRequest
from bot.reply import Chart, ChartKind, Fact, Metric, Reply, Series, Table, Tone, Trend
from metrics_core.accounts.lookup import AccountRef
from metrics_core.config import Bands
from metrics_core.health.report import HISTORY_DAYS, AccountHealth, HealthPoint, health_report
from metrics_core.health.scorecard import Band, HealthResult

BAND_TONE = {Band.GREEN: Tone.GOOD, Band.YELLOW: Tone.WARNING, Band.RED: Tone.BAD}
USAGE = "health <account> | health validity [segment]"
ACCOUNT_USAGE = "health <account>"
LOW_COVERAGE = 0.5
NO_HISTORY = (
    "No health history to chart yet: the service stores every account's health once a "
    f"day, and the chart of the last {HISTORY_DAYS} days is drawn from those snapshots."
)


def _change(value: float | None, days: int) -> str:
    return f"no snapshot {days} days ago" if value is None else f"{value:+.0f} in {days} days"


def _trend(value: float | None) -> Trend | None:
    if value is None:
        return None
    return Trend.UP if value >= 1 else Trend.DOWN if value <= -1 else Trend.FLAT


def about_one_account(args: str) -> bool:
    """`health <account>`: its answer is the account's stored data seen on a day, whoever
    asks (`Command.shared_answer`). `health validity` is not: it counts feedback too."""
    words = args.split(maxsplit=1)
    return bool(words) and words[0].lower() != VALIDITY


async def health_command(request: CommandRequest, context: BotContext) -> Reply:
    if not request.args:
        return which_account(ACCOUNT_USAGE)
    words = request.args.split()
    if words[0].lower() == VALIDITY:
        return await validity_command(words[1:], context)
    today = context.today()
    # One trip: the account and its (usually cached) health are read together.
    report = await context.db.read(
        functools.partial(health_report, text=request.args, as_of=today, cache=context.health)
    )
    return health_answer(request.args, report, today, context.config.health.bands)


def health_answer(text: str, report: AccountHealth, today: dt.date, bands: Bands) -> Reply:
    """The reply to `health <text>`: the health, or which account, or not a customer."""
    account = chosen_account(text, report.resolution, "health")
    if isinstance(account, Reply):
        return account
    if report.health is None:
        return not_a_customer(account, today)
    reply = health_reply(account, report.health, report.history, bands)
    actions = (details_action(account.external_id), looks_wrong_action(account.external_id))
    return dataclasses.replace(reply, actions=actions)


def not_a_customer(account: AccountRef, today: dt.date) -> Reply:
    return Reply(
        heading=f"{account.name} is not a customer on {today:%Y-%m-%d}",
        paragraphs=("Churned accounts have a history but no current health or risk.",),
    )


def history_chart(history: tuple[HealthPoint, ...], bands: Bands) -> Chart | None:
    """The score a week at a time, oldest first, against the band edges; None under 2 points."""
    if len(history) < 2:
        return None
    values = tuple(round(point.score, 1) for point in history)
    first, last = history[0], history[-1]
    red, green = bands.red_below, bands.green_from
    return Chart(
        title=f"Health, last {HISTORY_DAYS} days",
        kind=ChartKind.LINE,
        categories=tuple(f"{point.day:%b %d}" for point in history),
        series=(Series("Health score", values),),
        summary=(
            f"Health {last.score:.0f} today, {first.score:.0f} on {first.day:%b %d} "
            f"(low {min(values):.0f}, high {max(values):.0f}, {len(history)} weekly points); "
            f"red below {number(red)}, green from {number(green)}."
        ),
        y_label="Health (0-100)",
        thresholds=band_thresholds(red, green),
    )


def health_reply(
    account: AccountRef,
    result: HealthResult,
    history: tuple[HealthPoint, ...] = (),
    bands: Bands | None = None,
) -> Reply:
    """The health answer; `history` as `AccountHealth.history` gives it (oldest first, ending
    with `result`'s score), drawn against `bands` (the configured ones; default bands if None).
    """
    components = sorted(result.components, key=lambda c: c.contribution, reverse=True)
    rows = tuple(
        (
            c.name.capitalize(),
            "—" if c.score is None else f"{c.score:.0f}",
            f"{c.weight:.0%}",
            f"{c.contribution:.1f}",
            c.detail,
        )
        for c in components
    )
    drag = result.biggest_drag
    notes = []
    if result.coverage < LOW_COVERAGE:
        notes.append(
            f"Based on only {result.coverage:.0%} of the scorecard's weight: with so little "
            "data this score says little yet."
        )
    if result.missing:
        notes.append(
            f"No data for {', '.join(result.missing)}: "
            f"{'its' if len(result.missing) == 1 else 'their'} weight is shared among the others."
        )
    chart = history_chart(history, bands or Bands())
    if chart is None:
        notes.append(NO_HISTORY)
    return Reply(
        heading=f"{account.name} — health",
        metrics=(
            Metric(
                label="Health score",
                value=f"{result.score:.0f}/100",
                delta=f"{_change(result.change_7d, 7)}, {_change(result.change_30d, 30)}",
                trend=_trend(result.change_30d),
                tone=BAND_TONE[result.band],
                detail=f"{result.band.value} band",
            ),
        ),
        facts=(
            Fact("Segment", account.segment.value),
            Fact("Owner", account.owner_name or "unassigned"),
            Fact(
                "Biggest drag",
                f"{drag.name} (−{drag.shortfall:.0f} points): {drag.detail}" if drag else "none",
            ),
            Fact("As of", result.as_of.isoformat()),
        ),
        tables=(Table(columns=("Component", "Score", "Weight", "Points", "Why"), rows=rows),),
        charts=() if chart is None else (chart,),
        notes=tuple(notes),
    )
