"""Did the playbooks work? What happened next to the accounts each playbook ran on.

Runs its owner finished (every play done or skipped) are compared with runs of the same
playbook whose trigger fired but which were not finished: dropped, or still open after
their last play's due date. Runs still open within their due dates are in progress and
in neither group. Per play, runs where that play was done are compared with those where
it was skipped or never done. Every outcome is measured from the day the trigger fired:

- **Usage recovered at 30 days**: the account's active users summed over the
  `usage_drop.recent_days` days ending 30 days after the trigger reach at least
  `RECOVERED_SHARE` (90 %) of its pre-drop baseline. The baseline is the usage-drop
  signal's own (`metrics_core.health.usage_signals`): the mean of the same-length windows
  in the `usage_drop.baseline_weeks` weeks before the trigger's week, windows without
  any usage row left out. No seasonal adjustment: both groups meet the same calendar.
- **Sustained recovery** (the headline): recovered at 30 days *and* still recovered at 90.
  A play that gives a quick spike but no lasting recovery is not a success, so the spike
  alone does not count. An account that churned has no usage and has not recovered.
- **Health change at 30 and 90 days**: the health snapshot closest to that day (within
  `HEALTH_TOLERANCE_DAYS`) minus the health when the run started (stored on the run, else
  the last snapshot of the week before). Only accounts still scored at the horizon count.
- **Renewed**: the outcome of the account's first renewal on or after the trigger day,
  once it is decided (renewed or churned).
- **Expanded**: an expansion in the `EXPANSION_DAYS` days after the trigger.

A run counts for an outcome only once it is old enough: its horizon has passed (usage:
within the data delivered so far), its renewal is decided. Each comparison carries both
groups' counts; below `MIN_RUNS` in either group there is no difference, only counts,
and the answer says "not enough data yet". Rates and their differences are the product's
one definition (`metrics_core.proportions`: Agresti–Coull intervals, Newcombe's hybrid
score interval for a difference); differences of means have Welch's t interval
(`metrics_core.surveys.scores`). Owners choose which runs they finish, so finished and
unfinished runs are comparable, not randomised: a difference is an association, not
proof that the plays caused it.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics_core.config import Config
from metrics_core.playbooks.runs import due_day
from metrics_core.proportions import Difference, Rate, difference
from metrics_core.store import watermarks
from metrics_core.store.models import (
    Account,
    ArrMovement,
    ArrMovementKind,
    HealthSnapshot,
    PlaybookPlay,
    PlaybookRun,
    PlaybookRunStatus,
    PlayStatus,
    Renewal,
    RenewalStatus,
    Segment,
    UsageDaily,
)
from metrics_core.surveys.scores import welch_difference

MIN_RUNS = 10
"""Fewest runs in each group before a difference (and its interval) is shown."""
RECOVERED_SHARE = 0.9
"""Usage at or above this share of its pre-drop baseline counts as recovered."""
RECOVERY_DAYS = 30
SUSTAINED_DAYS = 90
HEALTH_DAYS = (30, 90)
HEALTH_TOLERANCE_DAYS = 7
"""How far from the horizon day a health snapshot may be and still stand for it."""
EXPANSION_DAYS = 180
_CHUNK = 500
"""Accounts or runs per `IN (…)` list: keeps bound parameters well under SQLite's limit."""


class RunGroup(enum.StrEnum):
    """Where a run stands for the comparison."""

    FINISHED = "finished"
    NOT_FINISHED = "not_finished"
    """Dropped, or open after its last play's due date."""
    IN_PROGRESS = "in_progress"
    """Open, with plays not yet due: in neither group."""


@dataclass(frozen=True, slots=True)
class RateComparison:
    """One yes/no outcome in the runs that did the work (`done`) and those that did not.

    `difference` (done − not done, as a fraction, with its interval) is None until both
    groups have `MIN_RUNS` runs.
    """

    done: Rate
    not_done: Rate
    difference: Difference | None


@dataclass(frozen=True, slots=True)
class Mean:
    n: int
    mean: float | None


@dataclass(frozen=True, slots=True)
class MeanComparison:
    """One measured outcome (health points) in both groups; the difference's Welch
    interval is None until both groups have `MIN_RUNS` runs."""

    done: Mean
    not_done: Mean
    difference: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Outcomes:
    recovered: RateComparison
    """Usage back to its baseline 30 days after the trigger."""
    sustained: RateComparison
    """Recovered at 30 days and still at 90: the headline."""
    health_30: MeanComparison
    health_90: MeanComparison
    renewed: RateComparison
    expanded: RateComparison


@dataclass(frozen=True, slots=True)
class PlayEffect:
    """Runs (finished or not) where this play was done against those where it was not."""

    position: int
    title: str
    done: int
    not_done: int
    outcomes: Outcomes


@dataclass(frozen=True, slots=True)
class PlaybookEffect:
    key: str
    name: str
    runs: int
    finished: int
    dropped: int
    stalled: int
    """Open after the last play's due date: counted with the dropped ones."""
    in_progress: int
    outcomes: Outcomes
    plays: tuple[PlayEffect, ...]

    @property
    def not_finished(self) -> int:
        return self.dropped + self.stalled

    @property
    def finished_share(self) -> float | None:
        """Finished among the runs that are over (finished, dropped or stalled)."""
        over = self.finished + self.not_finished
        return self.finished / over if over else None


@dataclass(frozen=True, slots=True)
class PlaybookStats:
    as_of: dt.date
    segment: Segment | None
    playbook: str | None
    """The playbook key asked about; None for all."""
    playbooks: tuple[PlaybookEffect, ...]
    known: tuple[tuple[str, str], ...]
    """Every playbook (key, name) configured or with runs, whatever was asked."""
    usage_through: dt.date
    """Usage outcomes count runs whose horizon is on or before this day."""
    min_runs: int = MIN_RUNS
    recovered_share: float = RECOVERED_SHARE
    expansion_days: int = EXPANSION_DAYS


def playbook_effectiveness(
    session: Session,
    *,
    as_of: dt.date,
    config: Config,
    playbook: str | None = None,
    segment: Segment | None = None,
) -> PlaybookStats:
    """Outcomes of finished against unfinished runs, per playbook and per play, as of a day.

    Runs triggered after `as_of` are ignored; `playbook` (a key) and `segment` narrow the
    runs. Playbooks in `config` with no run yet are listed with zero runs.
    """
    through = watermarks.through(session, watermarks.USAGE)
    usage_through = as_of if through is None else min(as_of, through)
    known = _known(session, config)
    runs = _runs(session, as_of, playbook, segment)
    effects: list[PlaybookEffect] = []
    if not runs.empty:
        runs = runs.join(_usage_outcomes(session, runs, config, usage_through))
        runs = runs.join(_health_outcomes(session, runs, as_of))
        runs = runs.join(_commercial_outcomes(session, runs, as_of))
        plays = _plays(session, runs.index.tolist())
        names = dict(known)
        for key, group in runs.groupby("playbook", sort=False):
            effects.append(_playbook_effect(str(key), names[str(key)], group, plays))
    with_runs = {effect.key for effect in effects}
    for key, name in known:
        if key not in with_runs and playbook in (None, key):
            effects.append(_empty_effect(key, name))
    order = {key: position for position, (key, _) in enumerate(known)}
    effects.sort(key=lambda effect: (order.get(effect.key, len(order)), effect.key))
    return PlaybookStats(
        as_of=as_of,
        segment=segment,
        playbook=playbook,
        playbooks=tuple(effects),
        known=known,
        usage_through=usage_through,
    )


def _known(session: Session, config: Config) -> tuple[tuple[str, str], ...]:
    """Configured playbooks in file order, then those only runs remember, by key."""
    names = {p.key: p.name for p in config.playbooks}
    latest = (
        select(PlaybookRun.playbook, func.max(PlaybookRun.id).label("id"))
        .group_by(PlaybookRun.playbook)
        .subquery()
    )
    remembered = session.execute(
        select(PlaybookRun.playbook, PlaybookRun.playbook_name).join(
            latest, PlaybookRun.id == latest.c.id
        )
    ).all()
    extra = sorted((str(key), str(name)) for key, name in remembered if key not in names)
    return (*names.items(), *extra)


def _runs(
    session: Session, as_of: dt.date, playbook: str | None, segment: Segment | None
) -> pd.DataFrame:
    """One row per run triggered on or before `as_of`, with its group and trigger day."""
    last_due = (
        select(PlaybookPlay.run_id, func.max(PlaybookPlay.due_at).label("last_due"))
        .group_by(PlaybookPlay.run_id)
        .subquery()
    )
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), dt.UTC)
    statement = (
        select(
            PlaybookRun.id,
            PlaybookRun.playbook,
            PlaybookRun.playbook_name,
            PlaybookRun.account_id,
            PlaybookRun.status,
            PlaybookRun.triggered_at,
            PlaybookRun.health_at_start,
            last_due.c.last_due,
        )
        .join(Account, Account.id == PlaybookRun.account_id)
        .outerjoin(last_due, last_due.c.run_id == PlaybookRun.id)
        .where(PlaybookRun.triggered_at < end)
        .order_by(PlaybookRun.id)
    )
    if playbook is not None:
        statement = statement.where(PlaybookRun.playbook == playbook)
    if segment is not None:
        statement = statement.where(Account.segment == segment)
    rows = []
    for run_id, key, name, account_id, status, triggered_at, health, last in session.execute(
        statement
    ):
        rows.append(
            {
                "id": run_id,
                "playbook": key,
                "name": name,
                "account_id": account_id,
                "group": _group(status, last, as_of).value,
                "status": PlaybookRunStatus(status).value,
                "day": _utc_day(triggered_at),
                "health_at_start": health,
            }
        )
    columns = ["playbook", "name", "account_id", "group", "status", "day", "health_at_start"]
    if not rows:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="id"))
    return pd.DataFrame(rows).set_index("id")


def _utc(instant: dt.datetime) -> dt.datetime:
    # A grouped max over SQLite can come back without its timezone; stored times are UTC.
    return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant


def _utc_day(instant: dt.datetime) -> dt.date:
    return _utc(instant).astimezone(dt.UTC).date()


def _group(status: PlaybookRunStatus, last_due: dt.datetime | None, as_of: dt.date) -> RunGroup:
    if status is PlaybookRunStatus.COMPLETED:
        return RunGroup.FINISHED
    if status is PlaybookRunStatus.DROPPED:
        return RunGroup.NOT_FINISHED
    if last_due is not None and due_day(_utc(last_due)) < as_of:
        return RunGroup.NOT_FINISHED
    return RunGroup.IN_PROGRESS


def _days(day: dt.date, offset: int) -> dt.date:
    return day + dt.timedelta(days=offset)


def _account_chunks(runs: pd.DataFrame) -> Iterator[list[int]]:
    accounts = sorted(set(runs["account_id"].tolist()))
    for start in range(0, len(accounts), _CHUNK):
        yield accounts[start : start + _CHUNK]


def _span(runs: pd.DataFrame, before: int, after: int) -> tuple[dt.date, dt.date]:
    return _days(min(runs["day"]), -before), _days(max(runs["day"]), after)


def _usage_outcomes(
    session: Session, runs: pd.DataFrame, config: Config, through: dt.date
) -> pd.DataFrame:
    """`baseline`, `usage_30`, `usage_90`, `recovered` and `sustained` per run.

    The run accounts' usage rows over the days any window covers are read once; each
    window's sum is then a difference of running totals.
    """
    rules = config.usage_drop
    weeks, length = rules.baseline_weeks, rules.recent_days
    horizons = (RECOVERY_DAYS, SUSTAINED_DAYS)
    # Window k of a run: days (end − length, end], as offsets from the trigger day.
    ends = [-7 * k for k in range(1, weeks + 1)] + list(horizons)
    first, last = _span(runs, 7 * weeks + length, max(horizons))
    usage: dict[int, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
    for ids in _account_chunks(runs):
        rows = session.connection().execute(
            select(UsageDaily.account_id, UsageDaily.day, UsageDaily.active_users)
            .where(
                UsageDaily.account_id.in_(ids),
                UsageDaily.day > first,
                UsageDaily.day <= last,
            )
            .order_by(UsageDaily.account_id, UsageDaily.day)
        )
        columns = list(zip(*rows, strict=True))
        if not columns:
            continue
        accounts = np.array(columns[0], dtype=np.int64)
        ordinals = np.array([d.toordinal() for d in columns[1]], dtype=np.int64)
        active = np.array(columns[2], dtype=np.float64)
        bounds = np.flatnonzero(np.diff(accounts)) + 1
        for part in np.split(np.arange(len(accounts)), bounds):
            totals = np.concatenate([[0.0], np.cumsum(active[part])])
            usage[int(accounts[part[0]])] = (ordinals[part], totals)
    matrix = np.full((len(runs), len(ends)), np.nan)
    offsets = np.array(ends, dtype=np.int64)
    for position, (account_id, day) in enumerate(
        zip(runs["account_id"].tolist(), runs["day"].tolist(), strict=True)
    ):
        found = usage.get(int(account_id))
        if found is None:
            continue
        ordinals, totals = found
        high = np.searchsorted(ordinals, day.toordinal() + offsets, side="right")
        low = np.searchsorted(ordinals, day.toordinal() + offsets - length, side="right")
        # A window without any usage row is NaN here, as in the usage-drop signal.
        matrix[position] = np.where(high > low, totals[high] - totals[low], np.nan)
    baseline = _nanmean(matrix[:, :weeks])
    result = pd.DataFrame({"baseline": baseline}, index=runs.index)
    recovered: dict[int, NDArray[np.float64]] = {}
    for offset, horizon in enumerate(horizons):
        # No usage row once the horizon has passed: the account is gone, not recovered.
        used = np.nan_to_num(matrix[:, weeks + offset], nan=0.0)
        due = np.array([_days(day, horizon) <= through for day in runs["day"]], dtype=bool)
        known = due & (np.nan_to_num(baseline) > 0)
        share = np.divide(used, baseline, out=np.zeros_like(used), where=known)
        recovered[horizon] = np.where(known, (share >= RECOVERED_SHARE).astype(float), np.nan)
        result[f"usage_{horizon}"] = np.where(known, share, np.nan)
    result["recovered"] = recovered[RECOVERY_DAYS]
    sustained_known = ~np.isnan(recovered[SUSTAINED_DAYS])
    both = np.nan_to_num(recovered[RECOVERY_DAYS]) * np.nan_to_num(recovered[SUSTAINED_DAYS])
    result["sustained"] = np.where(sustained_known, both, np.nan)
    return result


def _nanmean(values: NDArray[np.float64]) -> NDArray[np.float64]:
    counts = np.sum(~np.isnan(values), axis=1)
    totals = np.nansum(values, axis=1)
    mean: NDArray[np.float64] = np.divide(
        totals, counts, out=np.full(len(values), np.nan), where=counts > 0
    )
    return mean


def _health_outcomes(session: Session, runs: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """`health_30` and `health_90`: points gained (or lost) since the run started."""
    tolerance = HEALTH_TOLERANCE_DAYS
    first, last = _span(runs, tolerance, max(HEALTH_DAYS) + tolerance)
    scores: dict[int, list[tuple[dt.date, float]]] = {}
    for ids in _account_chunks(runs):
        for account_id, day, score in session.execute(
            select(HealthSnapshot.account_id, HealthSnapshot.day, HealthSnapshot.score).where(
                HealthSnapshot.account_id.in_(ids),
                HealthSnapshot.day >= first,
                HealthSnapshot.day <= min(last, as_of),
            )
        ):
            scores.setdefault(int(account_id), []).append((day, float(score)))
    columns: dict[str, list[float]] = {f"health_{h}": [] for h in HEALTH_DAYS}
    for account_id, day, stored in zip(
        runs["account_id"].tolist(),
        runs["day"].tolist(),
        runs["health_at_start"].tolist(),
        strict=True,
    ):
        snapshots = scores.get(int(account_id), [])
        start = _start_health(stored, snapshots, day)
        for horizon in HEALTH_DAYS:
            target = _days(day, horizon)
            later = _closest(snapshots, target) if target <= as_of else None
            change = math.nan if start is None or later is None else later - start
            columns[f"health_{horizon}"].append(change)
    return pd.DataFrame(columns, index=runs.index)


def _start_health(
    stored: Any, snapshots: Sequence[tuple[dt.date, float]], day: dt.date
) -> float | None:
    """The health the run recorded when it started, else the last snapshot of the week
    before (never one after the trigger: the plays may already have moved it)."""
    if stored is not None and not (isinstance(stored, float) and math.isnan(stored)):
        return float(stored)
    before = [(d, s) for d, s in snapshots if _days(day, -HEALTH_TOLERANCE_DAYS) <= d <= day]
    return max(before)[1] if before else None


def _closest(snapshots: Iterable[tuple[dt.date, float]], target: dt.date) -> float | None:
    """The score of the snapshot nearest `target` within the tolerance (earlier on a tie)."""
    near = [
        (abs((d - target).days), d, s)
        for d, s in snapshots
        if abs((d - target).days) <= HEALTH_TOLERANCE_DAYS
    ]
    return min(near)[2] if near else None


def _commercial_outcomes(session: Session, runs: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """`renewed` (1/0 at the first renewal on or after the trigger, once decided) and
    `expanded` (1/0: an expansion within `EXPANSION_DAYS`, once that long has passed)."""
    accounts = sorted(set(runs["account_id"].tolist()))
    renewals: dict[int, list[tuple[dt.date, RenewalStatus]]] = {}
    expansions: dict[int, list[dt.date]] = {}
    for start in range(0, len(accounts), _CHUNK):
        ids = accounts[start : start + _CHUNK]
        for account_id, day, status in session.execute(
            select(Renewal.account_id, Renewal.renewal_date, Renewal.status).where(
                Renewal.account_id.in_(ids)
            )
        ):
            renewals.setdefault(int(account_id), []).append((day, RenewalStatus(status)))
        for account_id, day in session.execute(
            select(ArrMovement.account_id, ArrMovement.effective_on).where(
                ArrMovement.account_id.in_(ids),
                ArrMovement.kind == ArrMovementKind.EXPANSION,
            )
        ):
            expansions.setdefault(int(account_id), []).append(day)
    renewed: list[float] = []
    expanded: list[float] = []
    for account_id, day in zip(runs["account_id"].tolist(), runs["day"].tolist(), strict=True):
        ahead = sorted(r for r in renewals.get(int(account_id), []) if r[0] >= day)
        outcome = math.nan
        if ahead and ahead[0][0] <= as_of and ahead[0][1] is not RenewalStatus.UPCOMING:
            outcome = float(ahead[0][1] is RenewalStatus.RENEWED)
        renewed.append(outcome)
        until = _days(day, EXPANSION_DAYS)
        if until > as_of:
            expanded.append(math.nan)
        else:
            grew = any(day < d <= until for d in expansions.get(int(account_id), []))
            expanded.append(float(grew))
    return pd.DataFrame({"renewed": renewed, "expanded": expanded}, index=runs.index)


def _plays(session: Session, run_ids: Sequence[int]) -> pd.DataFrame:
    rows: list[tuple[int, int, str, bool]] = []
    for start in range(0, len(run_ids), _CHUNK):
        ids = list(run_ids[start : start + _CHUNK])
        for run_id, position, title, status in session.execute(
            select(
                PlaybookPlay.run_id, PlaybookPlay.position, PlaybookPlay.title, PlaybookPlay.status
            ).where(PlaybookPlay.run_id.in_(ids))
        ):
            rows.append((int(run_id), int(position), str(title), status is PlayStatus.DONE))
    return pd.DataFrame(rows, columns=["run_id", "position", "title", "done"])


def _rate(values: pd.Series) -> Rate:
    """Runs with the outcome among the runs old enough for it (1.0/0.0; NaN: not yet)."""
    known = values.dropna()
    return Rate.of(int(known.sum()), len(known))


def _compare_rates(values: pd.Series, done: pd.Series) -> RateComparison:
    yes, no = _rate(values[done]), _rate(values[~done])
    if min(yes.n, no.n) < MIN_RUNS:
        return RateComparison(yes, no, None)
    return RateComparison(yes, no, difference(yes, no))


def _mean(values: pd.Series) -> Mean:
    known = values.dropna()
    return Mean(len(known), float(known.mean()) if len(known) else None)


def _compare_means(values: pd.Series, done: pd.Series) -> MeanComparison:
    yes, no = values[done].dropna(), values[~done].dropna()
    if min(len(yes), len(no)) < MIN_RUNS:
        return MeanComparison(_mean(yes), _mean(no), None, None, None)
    difference, low, high = welch_difference(yes.tolist(), no.tolist())
    return MeanComparison(_mean(yes), _mean(no), difference, low, high)


def _outcomes(runs: pd.DataFrame, done: pd.Series) -> Outcomes:
    return Outcomes(
        recovered=_compare_rates(runs["recovered"], done),
        sustained=_compare_rates(runs["sustained"], done),
        health_30=_compare_means(runs["health_30"], done),
        health_90=_compare_means(runs["health_90"], done),
        renewed=_compare_rates(runs["renewed"], done),
        expanded=_compare_rates(runs["expanded"], done),
    )


def _playbook_effect(
    key: str, name: str, runs: pd.DataFrame, plays: pd.DataFrame
) -> PlaybookEffect:
    groups = runs["group"]
    compared = runs[groups != RunGroup.IN_PROGRESS.value]
    finished = compared["group"] == RunGroup.FINISHED.value
    stalled = int(((groups == RunGroup.NOT_FINISHED.value) & (runs["status"] == "open")).sum())
    play_effects = []
    mine = plays[plays["run_id"].isin(compared.index)]
    for (position, title), group in mine.groupby(["position", "title"], sort=True):
        done_runs = set(group.loc[group["done"], "run_id"].tolist())
        with_play = compared.loc[compared.index.isin(group["run_id"])]
        done = pd.Series(with_play.index.isin(list(done_runs)), index=with_play.index)
        play_effects.append(
            PlayEffect(
                position=int(position),
                title=str(title),
                done=int(done.sum()),
                not_done=int((~done).sum()),
                outcomes=_outcomes(with_play, done),
            )
        )
    return PlaybookEffect(
        key=key,
        name=name,
        runs=len(runs),
        finished=int(finished.sum()),
        dropped=int((groups == RunGroup.NOT_FINISHED.value).sum()) - stalled,
        stalled=stalled,
        in_progress=int((groups == RunGroup.IN_PROGRESS.value).sum()),
        outcomes=_outcomes(compared, finished),
        plays=tuple(play_effects),
    )


def _empty_effect(key: str, name: str) -> PlaybookEffect:
    nothing = pd.DataFrame(
        columns=["recovered", "sustained", "health_30", "health_90", "renewed", "expanded"],
        dtype=float,
    )
    outcomes = _outcomes(nothing, pd.Series([], dtype=bool))
    return PlaybookEffect(key, name, 0, 0, 0, 0, 0, outcomes, ())
