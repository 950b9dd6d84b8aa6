"""Which (playbook, account) pairs fire, and starting their runs.

Five triggers are read from the day's stored numbers, once the day's snapshot is there
(the service's scheduler runs `run_triggers` after it, `adapters/workers/playbooks.py`);
the customers are the accounts in that snapshot. The other two, `detractor` and
`promoter`, fire from the survey intake (`start_answer_runs`), in the transaction that
stores the answer, so a webhook's 2xx means the run exists.

A trigger describes a condition that lasts (an account stays red for weeks), so each fires
once per *episode* of it: it does not fire while a run of its playbook for the account is
open (the run's unique `open_key`), nor again for an episode a run was already started in,
even after that run was completed or dropped. What an episode is, per kind:

- `health_red`: red in today's snapshot. The episode is the red spell: from the first red
  snapshot after the last one that was not red. So an account that enters red fires, and
  so does one that was red before the playbook existed (its spell has no run yet); one
  still red after its run ended does not, until it leaves the red band and enters again.
- `usage_drop`: usage down by at least `drop` (default `[usage_drop] threshold`), as
  `usage_drops` measures it. The episode is the window the drop is measured over
  (`baseline_weeks` weeks and `recent_days`): a drop still flagged after that is measured
  against a baseline that already holds the drop, so it is a new fall.
- `renewal_risk`: the next open renewal within `within_days` with today's churn risk at
  least `min_risk`. The episode is that renewal's window: once per renewal.
- `no_touchpoint`: no CSM touchpoint for `days` days (counted from the account's start when
  it never had one). The episode starts at the last touchpoint, or `days` days ago if
  later: a run that ended without a touchpoint since fires again after another `days`.
- `onboarding_stalled`: still onboarding `days` days after the account became a
  customer; again every `days` days while it stays so.
- `detractor` / `promoter`: an answer in that band (of the `surveys` kinds, all if none
  given), new or changed into it; each answer is its own episode (the open run still
  keeps a second one from starting).

A playbook's `segments` narrow all of them to those segments' accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, aliased

from metrics_core.config import Config, Playbook
from metrics_core.delivery.targets import Target
from metrics_core.health.scorecard import Band
from metrics_core.health.usage_signals import usage_drops
from metrics_core.playbooks.runs import start_run
from metrics_core.store.models import (
    Account,
    Activity,
    AnswerBand,
    HealthSnapshot,
    LifecycleStage,
    PlaybookRun,
    Renewal,
    RenewalStatus,
    Segment,
    SurveyResponse,
)
from metrics_core.surveys.scores import band_of

ANSWER_TRIGGERS = frozenset({"detractor", "promoter"})
"""Triggers fired by a survey answer as it arrives, not by the daily sweep."""
COMMENT_KEPT_CHARS = 300


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Firing:
    """One (playbook, account) pair whose trigger fires, and what it saw."""

    playbook: Playbook
    account_id: int
    owner_id: int | None
    details: dict[str, Any]
    health: float | None
    since: dt.datetime | None
    """Where this episode starts: a run of the playbook for the account started at or
    after it means the episode had its run. None: any earlier run does."""


@dataclass(frozen=True, slots=True)
class _Customer:
    account_id: int
    segment: Segment
    owner_id: int | None
    stage: LifecycleStage
    created_on: dt.date
    score: float
    band: str
    churn_probability: float | None
    churn_driver: str | None


@dataclass(frozen=True, slots=True)
class _Fired:
    account_id: int
    details: dict[str, Any]
    since: dt.datetime | None


def _customers(session: Session, as_of: dt.date) -> dict[int, _Customer]:
    rows = session.execute(
        select(
            Account.id,
            Account.segment,
            Account.owner_id,
            Account.lifecycle_stage,
            Account.created_on,
            HealthSnapshot.score,
            HealthSnapshot.band,
            HealthSnapshot.churn_probability,
            HealthSnapshot.churn_driver,
        )
        .join(HealthSnapshot, HealthSnapshot.account_id == Account.id)
        .where(HealthSnapshot.day == as_of)
    )
    return {
        row[0]: _Customer(
            account_id=row[0],
            segment=row[1],
            owner_id=row[2],
            stage=row[3],
            created_on=row[4],
            score=float(row[5]),
            band=row[6],
            churn_probability=None if row[7] is None else float(row[7]),
            churn_driver=row[8],
        )
        for row in rows
    }


class _Sweep:
    """What the kinds share while one day's firings are decided: the day, the customers,
    and the usage drops, measured once however many playbooks read them."""

    def __init__(self, session: Session, config: Config, as_of: dt.date) -> None:
        self.session = session
        self.config = config
        self.as_of = as_of
        self.customers = _customers(session, as_of)
        self._drops: pd.DataFrame | None = None

    def drops(self) -> pd.DataFrame:
        if self._drops is None:
            self._drops = usage_drops(self.session, self.as_of, self.config)
        return self._drops


def _health_red(sweep: _Sweep, playbook: Playbook) -> list[_Fired]:
    red = [c.account_id for c in sweep.customers.values() if c.band == Band.RED]
    if not red:
        return []
    session, as_of = sweep.session, sweep.as_of
    not_red = HealthSnapshot.band != Band.RED.value
    # The last snapshot that was not red ends the previous spell; the first red one after
    # it starts this one (snapshots may skip days, so not simply the day after).
    before = aliased(HealthSnapshot)
    ended = (
        select(func.max(before.day))
        .where(before.account_id == HealthSnapshot.account_id, before.band != Band.RED.value)
        .where(before.day < as_of)
        .scalar_subquery()
    )
    spells = {
        row[0]: (row[1], row[2], row[3])
        for row in session.execute(
            select(
                HealthSnapshot.account_id,
                HealthSnapshot.day,
                HealthSnapshot.score,
                HealthSnapshot.band,
            ).where(HealthSnapshot.account_id.in_(red), not_red, HealthSnapshot.day == ended)
        )
    }
    ended_on = func.coalesce(ended, dt.date.min)
    started = dict(
        session.execute(
            select(HealthSnapshot.account_id, func.min(HealthSnapshot.day))
            .where(
                HealthSnapshot.account_id.in_(red),
                HealthSnapshot.band == Band.RED.value,
                HealthSnapshot.day > ended_on,
            )
            .group_by(HealthSnapshot.account_id)
        ).all()
    )
    fired = []
    for account_id in red:
        since_day = started.get(account_id, as_of)
        details: dict[str, Any] = {
            "score": round(sweep.customers[account_id].score, 1),
            "red_since": since_day.isoformat(),
        }
        spell = spells.get(account_id)
        if spell is not None:
            day, score, band = spell
            details["before"] = {
                "day": day.isoformat(),
                "score": round(float(score), 1),
                "band": band,
            }
        # Red in every snapshot stored: any earlier run was for this spell.
        since = _midnight(since_day) if spell is not None else None
        fired.append(_Fired(account_id, details, since))
    return fired


def _usage_drop(sweep: _Sweep, playbook: Playbook) -> list[_Fired]:
    rules = sweep.config.usage_drop
    threshold = playbook.trigger.drop or rules.threshold
    drops = sweep.drops()
    if drops.empty:
        return []
    down = drops[(drops["change"] <= -threshold) & (drops["baseline"] > 0)]
    window = rules.baseline_weeks * 7 + rules.recent_days
    since = _midnight(sweep.as_of - dt.timedelta(days=window))
    return [
        _Fired(
            int(account_id),
            {
                "drop": round(-float(change), 3),
                "threshold": threshold,
                "recent_days": rules.recent_days,
                "baseline_weeks": rules.baseline_weeks,
            },
            since,
        )
        for account_id, change in down["change"].items()
        if int(account_id) in sweep.customers
    ]


def _renewal_risk(sweep: _Sweep, playbook: Playbook) -> list[_Fired]:
    trigger = playbook.trigger
    within, min_risk = trigger.within_days, trigger.min_risk
    if within is None or min_risk is None:  # the configuration requires both
        return []
    session, as_of = sweep.session, sweep.as_of
    next_renewal = dict(
        session.execute(
            select(Renewal.account_id, func.min(Renewal.renewal_date))
            .where(
                Renewal.status == RenewalStatus.UPCOMING,
                Renewal.renewal_date >= as_of,
            )
            .group_by(Renewal.account_id)
        ).all()
    )
    due = {
        account_id: day
        for account_id, day in next_renewal.items()
        if day <= as_of + dt.timedelta(days=within)
        and account_id in sweep.customers
        and (sweep.customers[account_id].churn_probability or 0.0) >= min_risk
    }
    if not due:
        return []
    arr: dict[int, float] = {}
    for account_id, amount in session.execute(
        select(Renewal.account_id, Renewal.arr).where(
            tuple_(Renewal.account_id, Renewal.renewal_date).in_(list(due.items())),
            Renewal.status == RenewalStatus.UPCOMING,
        )
    ):
        arr[account_id] = arr.get(account_id, 0.0) + float(amount)
    fired = []
    for account_id, day in due.items():
        customer = sweep.customers[account_id]
        fired.append(
            _Fired(
                account_id,
                {
                    "renewal_date": day.isoformat(),
                    "arr": arr.get(account_id, 0.0),
                    "probability": customer.churn_probability,
                    "driver": customer.churn_driver,
                    "min_risk": min_risk,
                    "within_days": within,
                },
                _midnight(day - dt.timedelta(days=within)),
            )
        )
    return fired


def _no_touchpoint(sweep: _Sweep, playbook: Playbook) -> list[_Fired]:
    days = playbook.trigger.days
    if days is None:  # the configuration requires it
        return []
    as_of = sweep.as_of
    last = dict(
        sweep.session.execute(
            select(Activity.account_id, func.max(Activity.occurred_at)).group_by(
                Activity.account_id
            )
        ).all()
    )
    fired = []
    for customer in sweep.customers.values():
        touched: dt.datetime | None = last.get(customer.account_id)
        if touched is not None and touched.tzinfo is None:
            touched = touched.replace(tzinfo=dt.UTC)
        start = touched or _midnight(customer.created_on)
        quiet = (as_of - start.date()).days
        if quiet < days:
            continue
        fired.append(
            _Fired(
                customer.account_id,
                {
                    "days": quiet,
                    "limit": days,
                    "last_touch": touched.date().isoformat() if touched else None,
                    "customer_since": customer.created_on.isoformat(),
                },
                max(start, _midnight(as_of - dt.timedelta(days=days))),
            )
        )
    return fired


def _onboarding_stalled(sweep: _Sweep, playbook: Playbook) -> list[_Fired]:
    days = playbook.trigger.days
    if days is None:  # the configuration requires it
        return []
    as_of = sweep.as_of
    since = _midnight(as_of - dt.timedelta(days=days))
    return [
        _Fired(
            c.account_id,
            {
                "created_on": c.created_on.isoformat(),
                "days": (as_of - c.created_on).days,
                "limit": days,
            },
            since,
        )
        for c in sweep.customers.values()
        if c.stage is LifecycleStage.ONBOARDING and c.created_on <= as_of - dt.timedelta(days=days)
    ]


_DAILY: Mapping[str, Callable[[_Sweep, Playbook], list[_Fired]]] = {
    "health_red": _health_red,
    "usage_drop": _usage_drop,
    "renewal_risk": _renewal_risk,
    "no_touchpoint": _no_touchpoint,
    "onboarding_stalled": _onboarding_stalled,
}


def _latest_runs(session: Session, playbook: str, account_ids: Sequence[int]) -> dict[int, Any]:
    """When each account last had a run of `playbook` start (any status); all accounts are
    read at once, `account_ids` only says whether any is needed."""
    if not account_ids:
        return {}
    return dict(
        session.execute(
            select(PlaybookRun.account_id, func.max(PlaybookRun.triggered_at))
            .where(PlaybookRun.playbook == playbook)
            .group_by(PlaybookRun.account_id)
        ).all()
    )


def _had_its_run(latest: dt.datetime | None, since: dt.datetime | None) -> bool:
    if latest is None:
        return False
    if latest.tzinfo is None:  # a grouped max over SQLite comes back naive, in UTC
        latest = latest.replace(tzinfo=dt.UTC)
    return since is None or latest >= since


def due_firings(session: Session, config: Config, as_of: dt.date) -> list[Firing]:
    """The pairs the daily triggers fire for on `as_of`: none before its snapshot is stored."""
    daily = [p for p in config.playbooks if p.trigger.kind in _DAILY]
    if not daily:
        return []
    sweep = _Sweep(session, config, as_of)
    if not sweep.customers:
        return []
    firings = []
    for playbook in daily:
        fired = [
            f
            for f in _DAILY[playbook.trigger.kind](sweep, playbook)
            if not playbook.segments or sweep.customers[f.account_id].segment in playbook.segments
        ]
        latest = _latest_runs(session, playbook.key, [f.account_id for f in fired])
        for f in fired:
            if _had_its_run(latest.get(f.account_id), f.since):
                continue
            customer = sweep.customers[f.account_id]
            firings.append(
                Firing(
                    playbook, f.account_id, customer.owner_id, f.details, customer.score, f.since
                )
            )
    return firings


def _episode_had_its_run(session: Session, firing: Firing) -> bool:
    latest = session.scalar(
        select(func.max(PlaybookRun.triggered_at)).where(
            PlaybookRun.playbook == firing.playbook.key,
            PlaybookRun.account_id == firing.account_id,
        )
    )
    return _had_its_run(latest, firing.since)


def start_firings(
    session: Session, firings: Sequence[Firing], *, now: dt.datetime, fallback: Target | None
) -> int:
    """Start a run for each firing whose episode still has none; how many started.

    The check is made again here, in the writing transaction: the firings may have been
    read a moment before, and another replica may have started some since.
    """
    started = 0
    for firing in firings:
        if _episode_had_its_run(session, firing):
            continue
        run_id = start_run(
            session,
            playbook=firing.playbook,
            account_id=firing.account_id,
            owner_id=firing.owner_id,
            details=firing.details,
            health=firing.health,
            now=now,
            fallback=fallback,
        )
        started += run_id is not None
    return started


def run_triggers(
    session: Session,
    config: Config,
    as_of: dt.date,
    now: dt.datetime,
    *,
    fallback: Target | None,
) -> int:
    """Start the runs the daily triggers fire for on `as_of`, in one transaction."""
    return start_firings(session, due_firings(session, config, as_of), now=now, fallback=fallback)


# --- survey answers ---------------------------------------------------------------------


def _latest_score(session: Session, account_id: int, on_or_before: dt.date) -> float | None:
    score = session.scalar(
        select(HealthSnapshot.score)
        .where(HealthSnapshot.account_id == account_id, HealthSnapshot.day <= on_or_before)
        .order_by(HealthSnapshot.day.desc())
        .limit(1)
    )
    return None if score is None else float(score)


def start_answer_runs(
    session: Session,
    *,
    survey_response_id: int,
    follow_up_id: int | None,
    config: Config,
    now: dt.datetime,
    fallback: Target | None,
) -> int:
    """Start the `detractor` / `promoter` playbooks the answer fires; how many started.

    Called by the intake for an answer that is new or changed, in its transaction. An
    answer matched to no account, or to a churned one, starts nothing.
    """
    playbooks = [p for p in config.playbooks if p.trigger.kind in ANSWER_TRIGGERS]
    if not playbooks:
        return 0
    row = session.execute(
        select(
            SurveyResponse.kind,
            SurveyResponse.score,
            SurveyResponse.comment,
            SurveyResponse.respondent_name,
            SurveyResponse.respondent_email,
            SurveyResponse.submitted_at,
            Account.id,
            Account.segment,
            Account.owner_id,
            Account.lifecycle_stage,
        )
        .join(Account, Account.id == SurveyResponse.account_id)
        .where(SurveyResponse.id == survey_response_id)
    ).first()
    if row is None or row.lifecycle_stage is LifecycleStage.CHURNED:
        return 0
    band: AnswerBand = band_of(row.kind, row.score)
    comment = (row.comment or "").strip()
    details: dict[str, Any] = {
        "survey": row.kind.value,
        "score": row.score,
        "band": band.value,
        "respondent": row.respondent_name or row.respondent_email,
        "submitted_at": row.submitted_at.isoformat(),
        "comment": comment[:COMMENT_KEPT_CHARS] or None,
        "follow_up": follow_up_id,
    }
    started = 0
    health: float | None = None
    for playbook in playbooks:
        trigger = playbook.trigger
        if trigger.kind != band.value:
            continue
        if trigger.surveys and row.kind not in trigger.surveys:
            continue
        if playbook.segments and row.segment not in playbook.segments:
            continue
        if health is None:
            health = _latest_score(session, row.id, now.date())
        run_id = start_run(
            session,
            playbook=playbook,
            account_id=row.id,
            owner_id=row.owner_id,
            details=details,
            health=health,
            now=now,
            fallback=fallback,
        )
        started += run_id is not None
    return started
