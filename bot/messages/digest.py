"""The digest: the summary worth reading with coffee, as one `Reply`.

Sections appear only when they have something to say; a scope with nothing to report gets
one line saying so, not an empty template. What counts as a mover, a new risk or a
renewal worth a call is decided in `metrics_core.digests.facts`; this module only words
the facts it gathered, so the same facts always read the same.

Two charts carry the shape behind the numbers: the scope's average health day by day,
against the health bands, and the biggest moves of the period as bars (drops below zero,
gains above), so a glance finds the account that lost 15 points among those that gained 2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.actions import open_action
from bot.charts import band_thresholds, number
from bot.formatting import count, interval, likelihood, money, percent, signed
from bot.messages.playbooks import overdue_fact
from bot.reply import Action, Chart, ChartKind, Fact, Metric, Reply, Series, Table, Tone, Trend
from metrics_core.config import Bands, Config
from metrics_core.digests.facts import (
    MOVE_POINTS,
    RENEWAL_HORIZONS,
    DigestFacts,
    Mover,
    Movers,
    NewRisks,
)
from metrics_core.digests.subscriptions import Scope
from metrics_core.store.models import DigestCadence, DigestScope

MOVER_BARS = 10
"""The movers chart shows at most this many accounts, the biggest moves."""


@dataclass(frozen=True, slots=True)
class Digest:
    reply: Reply
    details: dict[str, Any]
    """What the next digest compares with (`metrics_core.digests.facts.Remembered`)."""


def scope_label(scope: Scope, owner_name: str | None) -> str:
    """What a digest covers: "Enterprise", "Dana Whitfield's book", "whole portfolio"."""
    if scope.kind is DigestScope.SEGMENT and scope.segment is not None:
        return scope.segment.value
    if scope.kind is DigestScope.OWNER and scope.owner_id is not None:
        return f"{owner_name or 'a former CSM'}'s book"
    return "whole portfolio"


def title(cadence: DigestCadence, scope: Scope, owner_name: str | None) -> str:
    """ "Daily digest · Enterprise", "Weekly digest · Dana Whitfield's book"."""
    what = "Daily digest" if cadence is DigestCadence.DAILY else "Weekly digest"
    return f"{what} · {scope_label(scope, owner_name)}"


def _span(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _mover_row(mover: Mover) -> tuple[str, ...]:
    why = mover.why
    return (
        mover.account,
        f"{mover.score:.0f} {mover.band}",
        *(signed(change) for change in mover.changes),
        f"{why.name} {why.before:.0f} → {why.after:.0f}" if why is not None else "—",
    )


def _movers(facts: DigestFacts) -> tuple[Table, ...]:
    """Drops and gains of `MOVE_POINTS` or more against each comparison, biggest first."""
    movers = facts.movers
    columns = ("Account", "Health", *(_span(days) for days in movers.spans), "Why")
    return tuple(
        Table(
            columns,
            tuple(_mover_row(mover) for mover in shown),
            title=f"Biggest {direction} in health, ≥ {MOVE_POINTS:.0f} points ({total})",
        )
        for direction, shown, total in (
            ("drops", movers.drops, movers.drop_count),
            ("gains", movers.gains, movers.gain_count),
        )
        if total
    )


@dataclass(frozen=True, slots=True)
class _Risks:
    tables: tuple[Table, ...]
    quiet: tuple[str, ...]
    notes: tuple[str, ...]


def _new_risks(risks: NewRisks) -> _Risks:
    tables = []
    quiet = []
    notes = []
    if risks.entered_red is not None:
        if not risks.entered_red:
            quiet.append("no account newly in the red band")
        else:
            tables.append(
                Table(
                    ("Account", "Health", "Owner", "Weakest"),
                    tuple(
                        (
                            r.account,
                            f"{r.score:.0f}",
                            r.owner or "—",
                            f"{r.weakest.name} {r.weakest.score:.0f}" if r.weakest else "—",
                        )
                        for r in risks.entered_red
                    ),
                    title=f"Entered the red band ({risks.entered_red_count})",
                )
            )
    if risks.newly_high is not None:
        if not risks.newly_high:
            quiet.append("no account newly at high churn risk")
        else:
            tables.append(
                Table(
                    ("Account", "Churn risk", "Owner", "Main driver"),
                    tuple(
                        (r.account, likelihood(r.probability), r.owner or "—", r.driver or "—")
                        for r in risks.newly_high
                    ),
                    title=(
                        f"Newly at high churn risk, ≥ {risks.high_from:.0%} "
                        f"({risks.newly_high_count})"
                    ),
                )
            )
    elif risks.at_high_risk:
        why = (
            f"the snapshot of {risks.compared_without_risk:%Y-%m-%d} has no churn risk to "
            "compare with"
            if risks.compared_without_risk is not None
            else "there is no earlier snapshot to compare with"
        )
        notes.append(
            f"{count(risks.at_high_risk, 'account')} at high churn risk "
            f"(≥ {risks.high_from:.0%}); which of them are new is not known: {why}."
        )
    if len(quiet) == 2:
        quiet = ["no new risks"]
    return _Risks(tuple(tables), tuple(quiet), tuple(notes))


def _renewals(facts: DigestFacts, currency: str) -> tuple[tuple[Fact, ...], Table | None]:
    """ARR renewing within each horizon, and the month's renewals most worth a call."""
    renewals = facts.renewals
    due = tuple(
        Fact(
            f"Renewing in {horizon.days} days",
            f"{count(horizon.count, 'account')}, {money(horizon.arr, currency)}"
            f" ({money(horizon.at_stake, currency)} ARR at stake)",
        )
        for horizon in renewals.due
    )
    table = (
        Table(
            ("Account", "Renews", "ARR", "Churn risk"),
            tuple(
                (
                    r.account,
                    f"{r.renewal_date:%b %d}",
                    money(r.arr, currency),
                    likelihood(r.probability),
                )
                for r in renewals.worth_a_call
            ),
            title=(
                f"Renewing in the next {RENEWAL_HORIZONS[0]} days, most ARR at stake first "
                f"({renewals.within_first})"
            ),
        )
        if renewals.worth_a_call
        else None
    )
    return due, table


def _overdue(facts: DigestFacts, now: dt.datetime) -> Table | None:
    if not facts.overdue:
        return None
    return Table(
        ("Account", "Answer", "Waiting", "Owner"),
        tuple(
            (
                o.account or "unmatched",
                f"{o.kind.upper()} {o.score}",
                f"{(now - o.created_at).total_seconds() / 3600:.0f} h",
                o.owner or "—",
            )
            for o in facts.overdue
        ),
        title=f"Follow-ups past SLA, unclaimed ({facts.overdue_count})",
    )


def _promises(facts: DigestFacts) -> Table | None:
    """Promises of the success plans past their target date, not delivered: value owed."""
    promises = facts.promises
    if promises is None or not promises.overdue:
        return None
    return Table(
        ("Account", "Promise", "Owner", "Overdue"),
        tuple(
            (p.account, p.title, p.owner, count(p.days_overdue or 0, "day"))
            for p in promises.overdue
        ),
        title=f"Promises overdue, not delivered ({promises.count})",
    )


def _health_trend(trend: tuple[tuple[dt.date, float], ...], bands: Bands) -> Chart:
    """The book's average health, day by day: the shape of the week behind the numbers."""
    values = tuple(round(value, 1) for _, value in trend)
    (first_day, first), (last_day, last) = trend[0], trend[-1]
    return Chart(
        title=f"Average health, last {(last_day - first_day).days + 1} days",
        kind=ChartKind.LINE,
        categories=tuple(f"{day:%b %d}" for day, _ in trend),
        series=(Series("Average health", values),),
        summary=(
            f"Average health {first:.1f} on {first_day:%b %d}, {last:.1f} on {last_day:%b %d} "
            f"(low {min(values):.1f}, high {max(values):.1f}); red below "
            f"{number(bands.red_below)}, green from {number(bands.green_from)}."
        ),
        y_label="Health (0-100)",
        thresholds=band_thresholds(bands.red_below, bands.green_from),
    )


def _movers_chart(movers: Movers) -> Chart | None:
    """The biggest moves of either direction as bars, biggest first; None without movers."""
    shown = sorted(
        (*movers.drops, *movers.gains), key=lambda mover: (-abs(mover.move), mover.account)
    )[:MOVER_BARS]
    if not shown:
        return None
    total = movers.drop_count + movers.gain_count
    if len(movers.spans) == 1:  # one comparison: say its span once
        moves = f"In {_span(movers.spans[0])}: " + ", ".join(
            f"{mover.account} {signed(mover.move)}" for mover in shown
        )
    else:
        moves = ", ".join(
            f"{mover.account} {signed(mover.move)} in {_span(mover.move_days)}" for mover in shown
        )
    counts = (
        f"{count(movers.drop_count, 'drop')} and {count(movers.gain_count, 'gain')} "
        f"of {MOVE_POINTS:.0f} points or more"
    )
    # Each direction's list is already cut to the biggest few, so the bars are not
    # necessarily the biggest moves of all: say how many are shown, not which.
    which = "" if len(shown) == total else f"{len(shown)} shown of "
    return Chart(
        title=f"Biggest health moves, ≥ {MOVE_POINTS:.0f} points",
        kind=ChartKind.BAR,
        categories=tuple(mover.account for mover in shown),
        series=(Series("Points moved", tuple(round(mover.move, 1) for mover in shown)),),
        summary=f"{moves} ({which}{counts}).",
        y_label="Health points moved",
    )


def _kpis(facts: DigestFacts, currency: str) -> tuple[Metric, ...]:
    health, year = facts.health, facts.retention
    change = health.change
    return (
        Metric("Accounts", f"{health.accounts:,}"),
        Metric("ARR", money(health.arr, currency)),
        Metric(
            "Average health",
            f"{health.average:.0f}/100",
            delta=None
            if change is None or health.change_days is None
            else f"{signed(change, 1)} in {_span(health.change_days)}",
            trend=None
            if change is None
            else Trend.UP
            if change > 0.05
            else Trend.DOWN
            if change < -0.05
            else Trend.FLAT,
            tone=Tone.BAD if health.red else Tone.NEUTRAL,
            detail=f"{health.red} in the red band",
        ),
        Metric("NRR, 12 months", percent(year.nrr)),
        Metric("GRR, 12 months", percent(year.grr)),
    )


def _nps_line(facts: DigestFacts, days: int) -> str | None:
    result = facts.nps
    period = "today" if days == 1 else "this week"
    if result.score is None:
        return None
    # A few answers still make a line, saying there are too few for an interval.
    return (
        f"NPS {period}: {signed(result.score)} ({interval(result.ci_low, result.ci_high)}, "
        f"n = {result.n}; {result.promoters} promoters, {result.detractors} detractors)."
    )


def _links(scope_args: str) -> tuple[Action, ...]:
    return (
        open_action("Renewals", "renewals 90"),
        open_action("Churn risks", "churn top"),
        open_action("Follow-ups", "followups open"),
        open_action("KPIs", f"kpis {scope_args}".strip()),
    )


def build_digest(facts: DigestFacts, *, config: Config, now: dt.datetime) -> Digest:
    """The digest `Reply` for these facts; how long follow-ups have waited counts to `now`."""
    currency = config.revenue.currency
    heading = f"{title(facts.cadence, facts.scope, facts.owner_name)} · {facts.as_of:%a %d %b %Y}"
    details = facts.remembered.details()
    if facts.health.accounts == 0:
        why = (
            "no health snapshot yet (the service takes one each day)"
            if facts.snapshot_day is None
            else "no customers in this scope"
        )
        return Digest(Reply(heading=heading, paragraphs=(f"Nothing to report: {why}.",)), details)
    days = facts.days
    movers = _movers(facts)
    risks = _new_risks(facts.risks)
    renewal_facts, renewal_table = _renewals(facts, currency)
    overdue = _overdue(facts, now)
    nps_line = _nps_line(facts, days)
    promised = _promises(facts)
    tables = (
        *risks.tables,
        *movers,
        *(t for t in (overdue, promised, renewal_table) if t is not None),
    )
    paragraphs = tuple(p for p in (nps_line,) if p)
    quiet = []
    missing = [c.day for c in facts.compared if not c.available]
    if not movers and len(missing) < len(facts.compared):
        quiet.append(f"no health moves of {MOVE_POINTS:.0f} points or more")
    quiet.extend(risks.quiet)
    if not facts.overdue:
        quiet.append("no follow-ups past SLA")
    if facts.promises is not None and not facts.promises.count:
        quiet.append("no promises overdue")
    plays = overdue_fact(facts.overdue_plays)
    if facts.overdue_plays is not None and plays is None:
        quiet.append("no playbook plays overdue")
    if not facts.renewals.due:
        quiet.append(f"no renewals in {RENEWAL_HORIZONS[-1]} days")
    if nps_line is None:
        quiet.append("no NPS answers " + ("today" if days == 1 else "this week"))
    notes = []
    if quiet:
        notes.append("Quiet: " + ", ".join(quiet) + ".")
    if missing:
        days_missing = " or ".join(f"{day:%Y-%m-%d}" for day in missing)
        notes.append(f"No health snapshot from {days_missing} to measure changes against.")
    notes.extend(risks.notes)
    if facts.snapshot_day != facts.as_of and facts.snapshot_day is not None:
        notes.append(f"Health as of the last snapshot, {facts.snapshot_day:%Y-%m-%d}.")
    trend = _health_trend(facts.trend, config.health.bands) if len(facts.trend) >= 2 else None
    charts = tuple(chart for chart in (trend, _movers_chart(facts.movers)) if chart is not None)
    reply = Reply(
        heading=heading,
        metrics=_kpis(facts, currency),
        paragraphs=paragraphs,
        facts=(*renewal_facts, *((plays,) if plays is not None else ())),
        tables=tables,
        charts=charts,
        notes=tuple(notes),
        actions=_links(facts.scope.segment.value if facts.scope.segment else ""),
    )
    return Digest(reply, details)
