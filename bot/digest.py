"""The digest: the summary worth reading with coffee, as one `Reply`.

Sections appear only when they have something to say; a scope with nothing to report gets
one line saying so, not an empty template. "New" risks are new since this subscription's
previous digest (its run keeps what it reported), so a CSM is not told every morning about
the same account; the first digest compares with the snapshot one period earlier.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bot.actions import open_action
from bot.formatting import count, money, percent, signed
from bot.reply import Action, Chart, Fact, Metric, Reply, Table, Tone, Trend
from metrics_core.config import Config
from metrics_core.digest_data import RENEWAL_HORIZONS, DigestFacts

_RED = "red"


@dataclass(frozen=True, slots=True)
class Digest:
    reply: Reply
    details: dict[str, Any]
    """What the next digest compares with: the accounts in the red and at high risk."""


def _ids(frame: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in frame.index)


def _biggest_change(now: dict[str, Any], before: dict[str, Any], down: bool) -> str | None:
    """The health component that moved most in the mover's direction: the reason."""
    changes = {
        name: float(value) - float(before[name])
        for name, value in (now or {}).items()
        if value is not None and (before or {}).get(name) is not None
    }
    if not changes:
        return None
    name = min(changes, key=changes.__getitem__) if down else max(changes, key=changes.__getitem__)
    change = changes[name]
    if (change < 0) != down or change == 0:
        return None
    return f"{name} {change:+.0f}"


def _movers(facts: DigestFacts, limit: int) -> tuple[Table, ...]:
    if facts.before.empty or facts.accounts.empty:
        return ()
    both = facts.accounts.join(facts.before.add_suffix("_before"), how="inner")
    both["delta"] = both["score"] - both["score_before"]
    tables = []
    for down in (True, False):
        moved = both[both["delta"] < -0.5] if down else both[both["delta"] > 0.5]
        moved = moved.sort_values("delta", ascending=not down).head(limit)
        if moved.empty:
            continue
        tables.append(
            Table(
                ("Account", "Health", "Change", "Why"),
                tuple(
                    (
                        str(row.account),
                        f"{row.score:.0f} {row.band}",
                        signed(row.delta),
                        _biggest_change(row.components, row.components_before, down) or "—",
                    )
                    for row in moved.itertuples()
                ),
                title="Biggest drops in health" if down else "Biggest gains in health",
            )
        )
    return tuple(tables)


def _new_risks(
    facts: DigestFacts, previous: dict[str, Any] | None, config: Config, limit: int
) -> tuple[tuple[Table, ...], dict[str, Any]]:
    accounts = facts.accounts
    red = accounts[accounts["band"] == _RED]
    high = accounts[accounts["probability"].fillna(0) >= config.churn.high_risk_from]
    details = {"red": _ids(red), "high_risk": _ids(high)}
    if previous is not None:
        was_red, was_high = set(previous.get("red", [])), set(previous.get("high_risk", []))
    else:  # the first digest: compare with the snapshot one period earlier
        was_red = set(facts.before.index[facts.before["band"] == _RED])
        known = facts.before["probability"].notna()
        was_high = set(
            facts.before.index[known & (facts.before["probability"] >= config.churn.high_risk_from)]
        )
        if not known.any():  # no earlier risk to compare with: every high risk is news
            was_high = set()
    all_new_red = red[~red.index.isin(list(was_red))]
    all_new_high = high[~high.index.isin(list(was_high))]
    new_red = all_new_red.sort_values("score").head(limit)
    new_high = all_new_high.sort_values("probability", ascending=False).head(limit)
    tables = []
    if not new_red.empty:
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
    if not new_high.empty:
        tables.append(
            Table(
                ("Account", "Churn risk", "Owner", "Main driver"),
                tuple(
                    (
                        str(r.account),
                        percent(r.probability, 0),
                        str(r.owner or "—"),
                        str(r.driver or "—"),
                    )
                    for r in new_high.itertuples()
                ),
                title=(
                    f"Newly at high churn risk, ≥ {config.churn.high_risk_from:.0%} "
                    f"({len(all_new_high)})"
                ),
            )
        )
    return tuple(tables), details


def _weakest(components: dict[str, Any]) -> str | None:
    scored = {k: float(v) for k, v in (components or {}).items() if v is not None}
    if not scored:
        return None
    name = min(scored, key=scored.__getitem__)
    return f"{name} {scored[name]:.0f}"


def _renewals(
    facts: DigestFacts, currency: str, limit: int
) -> tuple[tuple[Fact, ...], Table | None]:
    renewals = facts.renewals
    if renewals.empty:
        return (), None
    risk = facts.accounts["probability"]
    renewals = renewals.assign(probability=renewals["account_id"].map(risk))
    facts_out = []
    for horizon in RENEWAL_HORIZONS:
        due = renewals[renewals["days"] <= horizon]
        at_stake = float((due["arr"] * due["probability"].fillna(0)).sum())
        facts_out.append(
            Fact(
                f"Renewing in {horizon} days",
                f"{count(len(due), 'account')}, {money(float(due['arr'].sum()), currency)}"
                f" ({money(at_stake, currency)} at risk)",
            )
        )
    soon = renewals[renewals["days"] <= RENEWAL_HORIZONS[0]].head(limit)
    table = (
        Table(
            ("Account", "Renews", "ARR", "Churn risk"),
            tuple(
                (
                    str(r.account),
                    f"{r.renewal_date:%b %d}",
                    money(float(r.arr), currency),
                    percent(r.probability, 0),
                )
                for r in soon.itertuples()
            ),
            title=f"Renewing in the next {RENEWAL_HORIZONS[0]} days",
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
    before = float(facts.before["score"].mean()) if not facts.before.empty else math.nan
    change = average - before
    red = int((accounts["band"] == _RED).sum())
    year = facts.retention
    return (
        Metric("Accounts", f"{len(accounts):,}"),
        Metric("ARR", money(float(accounts["arr"].fillna(0).sum()), currency)),
        Metric(
            "Average health",
            f"{average:.0f}/100",
            delta=None if math.isnan(change) else signed(change, 1),
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
    if result.score is None or result.ci_low is None or result.ci_high is None:
        return None
    return (
        f"NPS {period}: {result.score:+.0f} (95 % interval {result.ci_low:+.0f} to "
        f"{result.ci_high:+.0f}, n = {result.n}; {result.promoters} promoters, "
        f"{result.detractors} detractors)."
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
            {"red": [], "high_risk": []},
        )
    movers = _movers(facts, limit)
    risks, details = _new_risks(facts, previous, config, limit)
    renewal_facts, renewal_table = _renewals(facts, currency, limit)
    overdue = _overdue(facts, now, limit)
    nps_line = _nps_line(facts, days)
    tables = (*risks, *movers, *(t for t in (overdue, renewal_table) if t is not None))
    paragraphs = tuple(p for p in (nps_line,) if p)
    quiet = []
    if not movers:
        quiet.append("no health moves")
    if not risks:
        quiet.append("no new risks")
    if not facts.overdue:
        quiet.append("no follow-ups past SLA")
    if facts.renewals.empty:
        quiet.append(f"no renewals in {RENEWAL_HORIZONS[-1]} days")
    if nps_line is None:
        quiet.append("no NPS answers " + ("today" if days == 1 else "this week"))
    notes = []
    if quiet:
        notes.append("Quiet: " + ", ".join(quiet) + ".")
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
    return Digest(reply, details)
