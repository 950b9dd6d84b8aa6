"""The digest: the summary worth reading with coffee, as one `Reply`.

Sections appear only when they have something to say; a scope with nothing to report gets
one line saying so, not an empty template.

Movers are the accounts whose health moved by `MOVE_POINTS` or more, biggest move first,
measured as the health answer measures "-15 in 7 days" (`health.health_change` against
the day `health.compared_day` gives). A daily digest shows two changes, since the previous
snapshot day and over 7 days, so that an account sliding a little every morning still
shows up (`metrics_core.digests.facts` says why); an account is listed under the direction
of its larger move, and its "why" is the component that moved most over that span.

"New" risks are accounts that crossed into the red band or into high churn risk
(`churn.high_risk_from`) since this subscription's previous digest (its run keeps what it
reported), so a CSM is not told every morning about the same account; the first digest
and a preview compare with the snapshot one period earlier. With nothing to compare with
(no earlier snapshot, or one without churn risk, as backfilled days are), no account is
called new: the digest says the comparison is not available instead.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bot.actions import open_action
from bot.formatting import count, interval, likelihood, money, percent, signed
from bot.reply import Action, Chart, Fact, Metric, Reply, Table, Tone, Trend
from metrics_core.config import Config
from metrics_core.digests.facts import (
    MOVE_POINTS,
    RENEWAL_HORIZONS,
    Comparison,
    DigestFacts,
    gather,
)
from metrics_core.digests.subscriptions import Scope
from metrics_core.health.scorecard import health_change
from metrics_core.revenue.renewals import arr_at_stake
from metrics_core.store.models import DigestCadence, DigestScope, TeamMember

_RED = "red"


@dataclass(frozen=True, slots=True)
class Digest:
    reply: Reply
    details: dict[str, Any]
    """What the next digest compares with: the ids of the accounts in the red band
    (`red`) and at high churn risk (`high_risk`); None where that was not known (no
    snapshot yet, or a snapshot without churn risk), so the next digest does not read
    "none" and call every account new."""


def _ids(frame: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in frame.index)


def _biggest_change(now: dict[str, Any], before: dict[str, Any], down: bool) -> str | None:
    """The health component that moved most in the mover's direction, from → to: the reason."""
    earlier = before or {}
    changes = {
        name: float(value) - float(earlier[name])
        for name, value in (now or {}).items()
        if value is not None and earlier.get(name) is not None
    }
    if not changes:
        return None
    name = min(changes, key=changes.__getitem__) if down else max(changes, key=changes.__getitem__)
    change = changes[name]
    if (change < 0) != down or change == 0:
        return None
    return f"{name} {float(earlier[name]):.0f} → {float(now[name]):.0f}"


def _span(comparison: Comparison) -> str:
    return "1 day" if comparison.days == 1 else f"{comparison.days} days"


def _movers(facts: DigestFacts, limit: int) -> tuple[Table, ...]:
    """Drops and gains of `MOVE_POINTS` or more against each comparison, biggest first."""
    compared = [c for c in facts.comparisons if c.available]
    now = facts.accounts
    if not compared or now.empty:
        return ()
    changes = pd.DataFrame(
        {
            k: [
                health_change(float(score), None if pd.isna(then) else float(then))
                for score, then in zip(
                    now["score"], c.before["score"].reindex(now.index), strict=True
                )
            ]
            for k, c in enumerate(compared)
        },
        index=now.index,
        dtype=float,
    ).dropna(how="all")
    if changes.empty:
        return ()
    values = changes.to_numpy(dtype=float)
    by = np.nanargmax(np.abs(values), axis=1)  # the larger of an account's moves decides
    moved = pd.DataFrame(
        {"move": values[np.arange(len(values)), by], "by": by}, index=changes.index
    )
    moved = moved[moved["move"].abs() >= MOVE_POINTS].join(now[["account", "score", "band"]])
    tables = []
    for down in (True, False):
        side = moved[moved["move"] < 0] if down else moved[moved["move"] > 0]
        if side.empty:
            continue
        shown = side.assign(size=side["move"].abs()).sort_values(
            ["size", "account"], ascending=[False, True]
        )
        rows = []
        for account_id, row in shown.head(limit).iterrows():
            comparison = compared[int(row["by"])]
            why = _biggest_change(
                now.at[account_id, "components"], comparison.components(account_id), down
            )
            rows.append(
                (
                    str(row["account"]),
                    f"{row['score']:.0f} {row['band']}",
                    *(signed(changes.at[account_id, k]) for k in range(len(compared))),
                    why or "—",
                )
            )
        tables.append(
            Table(
                ("Account", "Health", *(_span(c) for c in compared), "Why"),
                tuple(rows),
                title=(
                    f"Biggest {'drops' if down else 'gains'} in health, "
                    f"≥ {MOVE_POINTS:.0f} points ({len(side)})"
                ),
            )
        )
    return tuple(tables)


@dataclass(frozen=True, slots=True)
class _Risks:
    tables: tuple[Table, ...]
    details: dict[str, Any]
    quiet: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _earlier(
    previous: dict[str, Any] | None, key: str, fallback: set[int] | None
) -> set[int] | None:
    """Who was in the red (or at high risk) before: as the previous digest reported, else as
    the snapshot one period earlier says; None when neither knows."""
    if previous is not None and previous.get(key) is not None:
        return {int(i) for i in previous[key]}
    return fallback


def _new_risks(
    facts: DigestFacts, previous: dict[str, Any] | None, config: Config, limit: int
) -> _Risks:
    accounts = facts.accounts
    high_from = config.churn.high_risk_from
    red = accounts[accounts["band"] == _RED]
    high = accounts[accounts["probability"].fillna(0) >= high_from]
    risk_known = bool(accounts["probability"].notna().any())
    details = {"red": _ids(red), "high_risk": _ids(high) if risk_known else None}
    period = facts.comparisons[0] if facts.comparisons else None
    before = period.before if period is not None and period.available else None
    was_red = _earlier(
        previous, "red", None if before is None else set(before.index[before["band"] == _RED])
    )
    was_high = _earlier(
        previous,
        "high_risk",
        set(before.index[before["probability"].fillna(0) >= high_from])
        if before is not None and period is not None and period.knows_churn_risk
        else None,
    )
    tables = []
    quiet = []
    notes = []
    if was_red is not None:
        all_new_red = red[~red.index.isin(list(was_red))]
        new_red = all_new_red.sort_values("score").head(limit)
        if new_red.empty:
            quiet.append("no account newly in the red band")
        else:
            tables.append(
                Table(
                    ("Account", "Health", "Owner", "Weakest"),
                    tuple(
                        (
                            str(r.account),
                            f"{r.score:.0f}",
                            str(r.owner or "—"),
                            _weakest(r.components) or "—",
                        )
                        for r in new_red.itertuples()
                    ),
                    title=f"Entered the red band ({len(all_new_red)})",
                )
            )
    if was_high is not None and risk_known:
        all_new_high = high[~high.index.isin(list(was_high))]
        new_high = all_new_high.sort_values("probability", ascending=False).head(limit)
        if new_high.empty:
            quiet.append("no account newly at high churn risk")
        else:
            tables.append(
                Table(
                    ("Account", "Churn risk", "Owner", "Main driver"),
                    tuple(
                        (
                            str(r.account),
                            likelihood(r.probability),
                            str(r.owner or "—"),
                            str(r.driver or "—"),
                        )
                        for r in new_high.itertuples()
                    ),
                    title=f"Newly at high churn risk, ≥ {high_from:.0%} ({len(all_new_high)})",
                )
            )
    elif risk_known and not high.empty:
        why = (
            f"the snapshot of {period.day:%Y-%m-%d} has no churn risk to compare with"
            if period is not None and before is not None
            else "there is no earlier snapshot to compare with"
        )
        notes.append(
            f"{count(len(high), 'account')} at high churn risk (≥ {high_from:.0%}); which of "
            f"them are new is not known: {why}."
        )
    if len(quiet) == 2:
        quiet = ["no new risks"]
    return _Risks(tuple(tables), details, quiet, notes)


def _weakest(components: dict[str, Any]) -> str | None:
    scored = {k: float(v) for k, v in (components or {}).items() if v is not None}
    if not scored:
        return None
    name = min(scored, key=scored.__getitem__)
    return f"{name} {scored[name]:.0f}"


def _renewals(
    facts: DigestFacts, currency: str, limit: int
) -> tuple[tuple[Fact, ...], Table | None]:
    """ARR renewing within each horizon, and the month's renewals most worth a call.

    The table shows the most ARR at risk (ARR × churn risk) first, then the most ARR: of
    thirty renewals this month, the five soonest are rarely the five that matter.
    """
    renewals = facts.renewals
    if renewals.empty:
        return (), None
    risk = facts.accounts["probability"]
    renewals = renewals.assign(probability=renewals["account_id"].map(risk))
    renewals = renewals.assign(at_stake=renewals["arr"] * renewals["probability"].fillna(0))
    facts_out = []
    for horizon in RENEWAL_HORIZONS:
        due = renewals[renewals["days"] <= horizon]
        at_stake = arr_at_stake(due["arr"], due["probability"])
        facts_out.append(
            Fact(
                f"Renewing in {horizon} days",
                f"{count(len(due), 'account')}, {money(float(due['arr'].sum()), currency)}"
                f" ({money(at_stake, currency)} ARR at stake)",
            )
        )
    month = renewals[renewals["days"] <= RENEWAL_HORIZONS[0]]
    soon = month.sort_values(
        ["at_stake", "arr", "renewal_date"], ascending=[False, False, True]
    ).head(limit)
    table = (
        Table(
            ("Account", "Renews", "ARR", "Churn risk"),
            tuple(
                (
                    str(r.account),
                    f"{r.renewal_date:%b %d}",
                    money(float(r.arr), currency),
                    likelihood(r.probability),
                )
                for r in soon.itertuples()
            ),
            title=(
                f"Renewing in the next {RENEWAL_HORIZONS[0]} days, most ARR at stake first "
                f"({len(month)})"
            ),
        )
        if not soon.empty
        else None
    )
    return tuple(facts_out), table


def _overdue(facts: DigestFacts, now: dt.datetime, limit: int) -> Table | None:
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
            for o in facts.overdue[:limit]
        ),
        title=f"Follow-ups past SLA, unclaimed ({len(facts.overdue)})",
    )


def _kpis(facts: DigestFacts, currency: str) -> tuple[Metric, ...]:
    accounts = facts.accounts
    average = float(accounts["score"].mean())
    period = facts.comparisons[0] if facts.comparisons else None
    before = (
        float(period.before["score"].mean())
        if period is not None and period.available
        else math.nan
    )
    change = average - before
    red = int((accounts["band"] == _RED).sum())
    year = facts.retention
    return (
        Metric("Accounts", f"{len(accounts):,}"),
        Metric("ARR", money(float(accounts["arr"].fillna(0).sum()), currency)),
        Metric(
            "Average health",
            f"{average:.0f}/100",
            delta=None
            if math.isnan(change) or period is None
            else f"{signed(change, 1)} in {_span(period)}",
            trend=None
            if math.isnan(change)
            else Trend.UP
            if change > 0.05
            else Trend.DOWN
            if change < -0.05
            else Trend.FLAT,
            tone=Tone.BAD if red else Tone.NEUTRAL,
            detail=f"{red} in the red band",
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


def build_digest(
    facts: DigestFacts,
    *,
    title: str,
    days: int,
    config: Config,
    now: dt.datetime,
    previous: dict[str, Any] | None,
    scope_args: str = "",
) -> Digest:
    """The digest `Reply` for these facts; `previous` is what the last digest reported."""
    currency = config.revenue.currency
    limit = config.digests.movers
    heading = f"{title} · {facts.as_of:%a %d %b %Y}"
    if facts.accounts.empty:
        why = (
            "no health snapshot yet (the service takes one each day)"
            if facts.snapshot_day is None
            else "no customers in this scope"
        )
        return Digest(
            Reply(heading=heading, paragraphs=(f"Nothing to report: {why}.",)),
            {"red": None, "high_risk": None},  # not known, which is not "none"
        )
    movers = _movers(facts, limit)
    risks = _new_risks(facts, previous, config, limit)
    renewal_facts, renewal_table = _renewals(facts, currency, limit)
    overdue = _overdue(facts, now, limit)
    nps_line = _nps_line(facts, days)
    tables = (*risks.tables, *movers, *(t for t in (overdue, renewal_table) if t is not None))
    paragraphs = tuple(p for p in (nps_line,) if p)
    quiet = []
    missing = [c.day for c in facts.comparisons if not c.available]
    if not movers and len(missing) < len(facts.comparisons):
        quiet.append(f"no health moves of {MOVE_POINTS:.0f} points or more")
    quiet.extend(risks.quiet)
    if not facts.overdue:
        quiet.append("no follow-ups past SLA")
    if facts.renewals.empty:
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
    charts = (
        (
            Chart(
                f"Average health, last {len(facts.trend)} days",
                tuple((f"{day:%b %d}", round(value, 1)) for day, value in facts.trend),
            ),
        )
        if len(facts.trend) >= 2
        else ()
    )
    actions = _links(scope_args)
    reply = Reply(
        heading=heading,
        metrics=_kpis(facts, currency),
        paragraphs=paragraphs,
        facts=renewal_facts,
        tables=tables,
        charts=charts,
        notes=tuple(notes),
        actions=actions,
    )
    return Digest(reply, risks.details)


def title(session: Session, cadence: DigestCadence, scope: Scope) -> str:
    """ "Daily digest · Enterprise", "Weekly digest · Dana Whitfield's book"."""
    what = "Daily digest" if cadence is DigestCadence.DAILY else "Weekly digest"
    if scope.kind is DigestScope.SEGMENT and scope.segment is not None:
        return f"{what} · {scope.segment.value}"
    if scope.kind is DigestScope.OWNER and scope.owner_id is not None:
        owner = session.get(TeamMember, scope.owner_id)
        return f"{what} · {owner.name if owner else 'a former CSM'}'s book"
    return f"{what} · whole portfolio"


def compose(
    session: Session,
    *,
    cadence: DigestCadence,
    scope: Scope,
    as_of: dt.date,
    window_end: dt.datetime,
    config: Config,
    now: dt.datetime,
    previous: dict[str, object] | None,
) -> Digest:
    """One digest, for a subscription's period or for a preview."""
    days = 7 if cadence is DigestCadence.WEEKLY else 1
    facts = gather(
        session,
        scope,
        as_of=as_of,
        days=days,
        window=(window_end - dt.timedelta(days=days), window_end),
        config=config,
        now=now,
    )
    return build_digest(
        facts,
        title=title(session, cadence, scope),
        days=days,
        config=config,
        now=now,
        previous=previous,
        scope_args=scope.segment.value if scope.segment else "",
    )
