"""The demo's playbook history: a year of runs the demo team worked, and what the plays did.

The demo runs the starter playbooks. Each run is started where its trigger fires on the
demo's own stored data, as the live triggers (`metrics_core.playbooks.triggers`) would:

- `usage-drop`: the usage-drop signal (`health.usage_signals.drops_from_sums`, the same
  arithmetic) on the usage rows as they are drawn, checked every day; not while a run is
  open, and once per drop (a new run only after the signal's window of
  `baseline_weeks` weeks and `recent_days` days has passed).
- `red-health`: the health score (the scorecard, as a snapshot of that day would store
  it) in the red band, checked weekly for the accounts whose health curve ever fell far
  enough to reach it; once per red spell.
- `detractor-recovery` / `promoter-advocacy`: every stored answer in that band, on any
  survey, when it arrived, unless a run of the playbook is open for the account.
- `no-touch`: 45 days without a CSM touchpoint in the stored activities.

`renewal-save` (it needs each past day's churn model) and `stalled-onboarding` (the book
keeps no history of lifecycle stages) have no history; the live triggers start them.

Who finishes what: a run belongs to the account's owner, who finishes it with a chance
set by how diligent that CSM is and how much attention the account gets (`_finishes`),
drawn when the run starts and never from what happened next. Finished runs have every play
done (some skipped, with a note saying why); the others stop part-way and are dropped
with a note, or are still open, some of them past their plays' due dates. Runs whose
work would go past the as-of day are open, with the plays done so far.

What the plays do: this is where the synthetic world is told that CS work matters. A
done play of `usage-drop` may change the account's course (`EFFECTS`): a lasting lift (the
health curve closes most of the gap to full health and stays there, and some users who had
not used the product come in, `USAGE_BOOST`) or a quick spike that fades within weeks, as
the texts the product came from warn. Accounts that leave at their renewal whatever the
team does get a spike at most (`LEAVING`). The lift is in the usage from the day the play
was done: `PlaybookHistory.usage` draws the account's usage again from that day, from
`HelpedPlan`, so more seats are active and the features that fell out of use come back.
Tickets, survey answers and touchpoints are drawn from the accounts' course as it was
planned, so the rest of the book (its churn, its answers) stays as it was drawn. Only
`usage-drop` runs, found while usage is drawn, can act this way: the other playbooks' runs
are found once everything is stored, so their plays change nothing, and any difference
their numbers show comes from which runs were finished. Acme Corp's course is never
changed, so its story holds.

What is recorded with each run is what the live runtime records: the trigger's details
in its format, the health score when it started, the plays with due dates, who did them
and when, notes, and the reminders and escalations the overdue sweep would have sent
(their messages, like the follow-ups' alerts, are long delivered: no outbox rows). The
history is scored weekly (`CHECK_DAYS`), as scoring every day of a year would take most
of the seed's time: a run's health at the start is its account's score at the last
weekly check on or before the day it started, computed by the scorecard from the stored
data as that day's snapshot would be.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from metrics_core.config import Config, Playbook, Plays
from metrics_core.health.inputs import account_inputs
from metrics_core.health.scorecard import band_for, score_frame
from metrics_core.health.usage_signals import YEAR_IN_WEEKS_DAYS, drops_from_sums
from metrics_core.playbooks.runs import due_at, open_key
from metrics_core.playbooks.starter import starter_playbooks
from metrics_core.playbooks.triggers import COMMENT_KEPT_CHARS
from metrics_core.store.models import (
    Activity,
    FollowUp,
    PlaybookPlay,
    PlaybookRun,
    PlaybookRunStatus,
    PlayStatus,
    SurveyKind,
    SurveyResponse,
)
from metrics_core.surveys.scores import band_of
from metrics_core.synthetic.accounts import AccountPlan, Trajectory
from metrics_core.synthetic.followups import WORK_END_HOUR, WORK_START_HOUR, seeded_until
from metrics_core.synthetic.text import Picker
from metrics_core.synthetic.usage import usage_block
from metrics_core.synthetic.window import (
    FAR,
    FloatArray,
    IntArray,
    as_bool,
    as_float,
    as_int,
)


@functools.cache
def demo_config() -> Config:
    """The demo's configuration for playbooks: the starter ones, default thresholds.

    Read when first asked for, not at import: it reads and validates the packaged file."""
    return Config(playbooks=starter_playbooks())


# --- what the plays do in the synthetic world --------------------------------------------

EFFECTS: dict[tuple[str, int], tuple[float, float]] = {
    # (playbook, play position): (chance of a lasting lift, chance of a spike that fades)
    ("usage-drop", 2): (0.05, 0.45),  # asking the admin why: attention, briefly
    ("usage-drop", 3): (0.65, 0.15),  # a re-enablement session for the teams that dropped
}
LEAVING = frozenset({Trajectory.CHURNING, Trajectory.SILENT_CHURN})
"""Accounts that leave at their renewal whatever the team does (their contracts are drawn
first): a play can buy them a spike, never a lasting recovery, so the churn they show stays
as predictable as the book was drawn to be."""
LIFT_SLOTS = 4
"""Lifts kept per account; a fifth would change nothing the first four did not."""
LASTING = (0.7, 1.0)
"""Share of the gap to full health a lasting lift closes."""
SPIKE = (0.6, 1.0)
SPIKE_HOLD_DAYS = (20.0, 35.0)
"""How long a spike holds before it fades."""
FADE_DAYS = 10.0
USAGE_BOOST = 0.15
"""Usage above its old level at a full lift: the session reached people who had not used it."""
RAMP_DAYS = 10.0

# --- how the team works ------------------------------------------------------------------

DILIGENCE = (0.5, 0.85)
"""Per CSM: the chance, before attention, that they see a run through."""
PLAY_DONE = 0.85
"""In a finished run, each play is done; the rest are skipped with a note."""
KEEP_GOING = 0.55
"""In a run that is not finished, the chance each next play still gets done."""
FORGOTTEN = 0.12
"""Unfinished runs of the last `FORGOTTEN_DAYS` that nobody dropped: open past due."""
FORGOTTEN_DAYS = 150
DROP_AFTER_DAYS = (3, 25)
RED_CANDIDATE_HEALTH = 0.55
"""Accounts whose health curve falls below this are checked for a red score…"""
RED_SCORED_BELOW = 0.7
"""…at the weekly checks where their curve is below this (above it, they are not red)."""
CHECK_DAYS = 7
"""The history's health scores are weekly, on the days `CHECK_DAYS` apart that end the day
before the as-of day: scoring every day of a year would take most of the seed's time."""
ESCALATE_AFTER = dt.timedelta(days=Plays().escalate_after_overdue_days)
REMIND_AFTER = dt.timedelta(minutes=20)
"""The overdue sweep runs every few minutes."""
SWEEP_TIME = dt.time(0, 30)
"""Daily triggers fire after the day's snapshot (00:15 UTC)."""

DONE_NOTES: dict[str, tuple[tuple[str, ...], ...]] = {
    # Per playbook, the notes its owners leave on each play (by position), some of the time.
    "usage-drop": (
        ("Two teams stopped using reports after a reorg.", "Dashboards and alerts dropped."),
        (
            "Admin says a new BI tool took over their dashboards.",
            "The SSO integration broke after their IdP change; fixed with support.",
        ),
        (
            "Ran a session with the teams that dropped; 14 people attended.",
            "Recorded a short walkthrough for their new hires.",
        ),
    ),
    "red-health": (
        ("Agreed with my manager: usage back above 60 % of seats within a month.",),
        (
            "Champion is still there but lost budget for the rollout.",
            "New champion after a reorg; intro call done.",
        ),
        ("Sent the recovery plan with three dated steps.",),
        (
            "Score moved up; no executive check-in needed.",
            "Booked an executive check-in with their VP Operations.",
        ),
    ),
    "detractor-recovery": (
        ("Replied personally and offered a call.", "Called them; they liked the quick reply."),
        (
            "Root cause: slow exports on large reports; filed with the platform team.",
            "Root cause: a confusing permissions screen; filed with design.",
        ),
        ("Told them the export fix ships this month.", "Shared the workaround and the fix date."),
    ),
    "promoter-advocacy": (
        ("Thanked them; they value the alerts most.",),
        ("They agreed to a G2 review.", "Asked for a reference call; yes for next quarter."),
        ("Recorded the referral on the follow-up.", "Recorded the review on the follow-up."),
    ),
    "no-touch": (
        ("Check-in booked for next week.",),
        ("Shared their top-feature usage trend; they had not seen it.",),
    ),
}
SKIP_NOTES = (
    "Covered in last week's call.",
    "Not relevant for this customer.",
    "The admin was on leave; spoke to the champion instead.",
    "Customer declined.",
    "Already done as part of the renewal plan.",
)
DROP_NOTES = (
    "Customer asked for space until their reorg settles.",
    "Owner changed; the new CSM starts fresh.",
    "False alarm: usage was back before we spoke.",
    "Merged into the renewal plan.",
    "Could not reach anyone; will retry next quarter.",
    "Account is leaving at renewal; nothing left to save.",
)


@dataclass(frozen=True)
class HelpedPlan(AccountPlan):
    """The accounts' plan with what the team's plays did: health lifted from each play's day.

    `lift_*` are (accounts, `LIFT_SLOTS`) arrays, filled while usage is drawn; a slot with
    start `FAR` is empty. Health becomes h + (1 − h)·lift, lift being the largest of the
    account's lifts that day: a share of the gap to full health, never above it.
    """

    lift_start: FloatArray = field(default_factory=lambda: as_float(np.zeros((0, LIFT_SLOTS))))
    lift_size: FloatArray = field(default_factory=lambda: as_float(np.zeros((0, LIFT_SLOTS))))
    lift_hold: FloatArray = field(default_factory=lambda: as_float(np.zeros((0, LIFT_SLOTS))))

    @classmethod
    def of(cls, plan: AccountPlan) -> HelpedPlan:
        values = {f.name: getattr(plan, f.name) for f in fields(AccountPlan)}
        shape = (plan.count, LIFT_SLOTS)
        return cls(
            **values,
            lift_start=as_float(np.full(shape, float(FAR))),
            lift_size=as_float(np.zeros(shape)),
            lift_hold=as_float(np.zeros(shape)),
        )

    def lift(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        index = np.asarray(rows, dtype=np.int64)
        since = as_float(t)[..., None] - self.lift_start[index]
        ramp = np.clip(since / RAMP_DAYS, 0.0, 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            fade = np.exp(-np.clip(since - self.lift_hold[index], 0.0, None) / FADE_DAYS)
        return as_float(np.max(self.lift_size[index] * ramp * fade, axis=-1))

    def health(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        base = super().health(rows, t)
        return as_float(base + (1.0 - base) * self.lift(rows, t))

    def usage_level(self, rows: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
        """Usage follows the lifted health, and a lift brings in some users who were not
        using the product before the drop (`USAGE_BOOST` at a full lift)."""
        return as_float(super().usage_level(rows, t) * (1.0 + USAGE_BOOST * self.lift(rows, t)))

    def add_lift(self, row: int, start: float, size: float, hold: float) -> bool:
        """Record a lift; False when the account's slots are full."""
        free = np.flatnonzero(self.lift_start[row] >= FAR)
        if not len(free):
            return False
        slot = int(free[0])
        self.lift_start[row, slot], self.lift_size[row, slot] = start, size
        self.lift_hold[row, slot] = hold
        return True


@dataclass
class _Play:
    position: int
    title: str
    due_at: dt.datetime
    status: PlayStatus = PlayStatus.TODO
    done_at: dt.datetime | None = None
    note: str | None = None


@dataclass
class _Run:
    playbook: Playbook
    row: int
    triggered_at: dt.datetime
    details: dict[str, Any]
    plays: list[_Play]
    status: PlaybookRunStatus = PlaybookRunStatus.OPEN
    closed_at: dt.datetime | None = None
    note: str | None = None
    health: float | None = None

    @property
    def day(self) -> dt.date:
        """The day it started (UTC): the health it started with is that day's score."""
        return self.triggered_at.astimezone(dt.UTC).date()


def _finishes(diligence: float, attention: float) -> float:
    """The chance an owner sees a run through: their diligence, nudged by how much time the
    account gets (a neglected account's run is more often let go)."""
    return min(0.95, max(0.15, diligence * (0.8 + 0.2 * min(attention, 1.5))))


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


class PlaybookHistory:
    """The demo team's playbook runs, planned while the book is generated, then written.

    Make one after the accounts are planned; draw each block of usage from `world` and pass
    it through `usage` (which starts the usage-drop runs and lets their plays act); at the
    end, `write` finds the other playbooks' runs in the stored data and writes them all.
    """

    def __init__(
        self,
        plan: AccountPlan,
        streams: Callable[..., np.random.Generator],
        config: Config | None = None,
    ) -> None:
        self.world = HelpedPlan.of(plan)
        self.config = config or demo_config()
        self._streams = streams
        self._picker = Picker(streams(0))
        self._window = plan.window
        self._until = seeded_until(plan.window)
        self._runs: list[_Run] = []
        owners = sorted(set(plan.owner_id.tolist()))
        drawn = streams(1).uniform(*DILIGENCE, len(owners))
        self._diligence = dict(zip(owners, drawn.tolist(), strict=True))

    # --- working a run ---------------------------------------------------------------------

    def _working(self, at: dt.datetime) -> dt.datetime:
        """`at` if in the team's working day (weekdays, UTC), else early in the next one."""
        if at.weekday() < 5 and WORK_START_HOUR <= at.hour < WORK_END_HOUR:
            return at
        day = at.date() + dt.timedelta(days=0 if at.hour < WORK_START_HOUR else 1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        minutes = self._picker.integer(0, 150)
        return _day_start(day) + dt.timedelta(hours=WORK_START_HOUR, minutes=minutes)

    def _note(self, key: str, position: int, chance: float = 0.5) -> str | None:
        """A done play's note, about half the time (notes are welcome, not required)."""
        plays = DONE_NOTES.get(key, ())
        notes = plays[position - 1] if position <= len(plays) else ()
        return self._picker.pick(notes) if notes and self._picker.chance(chance) else None

    def _start(
        self, playbook: Playbook, row: int, at: dt.datetime, details: dict[str, Any]
    ) -> _Run:
        """A run started at `at`, worked by its owner up to the start of the as-of day."""
        plays = [
            _Play(position, play.title, due_at(at, play.due_days))
            for position, play in enumerate(playbook.plays, start=1)
        ]
        run = _Run(playbook, row, at, details, plays)
        world, picker = self.world, self._picker
        owner = int(world.owner_id[row])
        finish = picker.chance(_finishes(self._diligence[owner], float(world.curve.attention[row])))
        when = at
        for number, (play, spec) in enumerate(zip(plays, playbook.plays, strict=True)):
            last = number == len(plays) - 1
            # A run that will not be finished stops before its last play, often sooner.
            if not finish and (
                last or not picker.chance(KEEP_GOING + (0.25 if number == 0 else 0.0))
            ):
                break
            aim = at + dt.timedelta(days=spec.due_days * (0.3 + 0.85 * picker.uniform()))
            when = self._working(max(when, aim))
            if when >= self._until:
                break
            done_any = any(p.status is PlayStatus.DONE for p in plays)
            if not finish or picker.chance(PLAY_DONE) or (last and not done_any):
                play.status = PlayStatus.DONE
                play.note = self._note(playbook.key, play.position)
            else:
                play.status, play.note = PlayStatus.SKIPPED, picker.pick(SKIP_NOTES)
            play.done_at = when
        if all(play.status is not PlayStatus.TODO for play in plays):
            run.status, run.closed_at = PlaybookRunStatus.COMPLETED, when
        elif not finish:
            # Acme's runs are never left behind: its newest detractor run is the open one.
            recent = at >= self._until - dt.timedelta(days=FORGOTTEN_DAYS)
            forgotten = row != 0 and recent and picker.chance(FORGOTTEN)
            drop_at = self._working(when + dt.timedelta(days=picker.integer(*DROP_AFTER_DAYS)))
            if not forgotten and drop_at < self._until:
                run.status, run.closed_at = PlaybookRunStatus.DROPPED, drop_at
                run.note = picker.pick(DROP_NOTES)
        self._runs.append(run)
        return run

    def _act(self, run: _Run) -> int | None:
        """Draw what the run's done plays did to the account; the first day they changed."""
        if run.row == 0:  # Acme Corp's story is fixed
            return None
        picker, window = self._picker, self._window
        leaving = int(self.world.trajectory[run.row]) in LEAVING
        first: int | None = None
        for play in run.plays:
            if play.status is not PlayStatus.DONE or play.done_at is None:
                continue
            lasting, spike = EFFECTS.get((run.playbook.key, play.position), (0.0, 0.0))
            roll = picker.uniform()
            day = window.index(play.done_at.date()) + picker.integer(0, 3)
            if roll < lasting and leaving:  # the decline resumes once the attention fades
                roll = lasting + spike * picker.uniform()
            if roll < lasting:
                size, hold = LASTING[0] + (LASTING[1] - LASTING[0]) * picker.uniform(), math.inf
            elif roll < lasting + spike:
                size = SPIKE[0] + (SPIKE[1] - SPIKE[0]) * picker.uniform()
                hold = (
                    SPIKE_HOLD_DAYS[0]
                    + (SPIKE_HOLD_DAYS[1] - SPIKE_HOLD_DAYS[0]) * picker.uniform()
                )
            else:
                continue
            if self.world.add_lift(run.row, float(day), size, hold):
                first = day if first is None else min(first, day)
        return first

    # --- usage-drop runs, while usage is drawn ---------------------------------------------

    def usage(self, rows: IntArray, frame: pd.DataFrame, block: int) -> pd.DataFrame:
        """The block's usage (drawn from `world`) with its usage-drop runs started.

        Drops are found day by day in the rows as drawn. Where a run's play lifts the
        account, its usage is drawn again from that day on (the lift now in `world`) and
        the search goes on in the new rows, so a spike that fades can fire the next run.
        """
        playbook = self.config.playbook("usage-drop")
        if playbook is None or frame.empty:
            return frame
        ids = self.world.ids[rows]
        active = np.full((len(rows), self._window.days), np.nan)
        local = np.searchsorted(ids, frame["account_id"].to_numpy())
        active[local, self._day_index(frame)] = frame["active_users"].to_numpy(dtype=np.float64)
        state = _DropState(len(rows))
        pieces: list[pd.DataFrame] = [frame]
        pending = as_int(np.arange(len(rows)))
        rounds = 0
        while len(pending):
            flagged, change = self._flagged(active[pending], playbook)
            changed: dict[int, int] = {}
            for position, local_row in enumerate(pending.tolist()):
                start = self._walk(
                    int(rows[local_row]),
                    local_row,
                    flagged[position],
                    change[position],
                    state,
                    playbook,
                )
                if start is not None:
                    changed[local_row] = start
            if not changed:
                break
            rounds += 1
            fresh = usage_block(
                self.world, as_int([rows[r] for r in changed]), self._streams(2, block, rounds)
            )
            fresh_local = np.searchsorted(ids, fresh["account_id"].to_numpy())
            fresh_days = self._day_index(fresh)
            starts = np.array([changed[int(r)] for r in fresh_local.tolist()], dtype=np.int64)
            later = fresh_days >= starts
            values = fresh["active_users"].to_numpy(dtype=np.float64)
            for local_row, start in changed.items():
                active[local_row, start:] = np.nan
            active[fresh_local[later], fresh_days[later]] = values[later]
            pieces.append(fresh[later])
            pending = as_int(sorted(changed))
        if len(pieces) == 1:
            return frame
        # Each day's row comes from the latest drawing that covers it.
        joined = pd.concat(
            [piece.assign(_drawing=n) for n, piece in enumerate(pieces)], ignore_index=True
        )
        joined = joined.sort_values(["account_id", "day", "_drawing"], kind="stable")
        joined = joined.drop_duplicates(["account_id", "day"], keep="last")
        return joined.drop(columns="_drawing").reset_index(drop=True)

    def _day_index(self, frame: pd.DataFrame) -> IntArray:
        offsets = frame["day"].to_numpy(dtype="datetime64[D]") - np.datetime64(self._window.first)
        return as_int(offsets.astype(np.int64))

    def _flagged(
        self, active: FloatArray, playbook: Playbook
    ) -> tuple[npt.NDArray[np.bool_], FloatArray]:
        """(accounts, days): whether the usage-drop signal flags the account on each day as
        of that day, and the change it measured (−0.4: 40 % below the expected usage)."""
        rules = self.config.usage_drop
        weeks, length = rules.baseline_weeks, rules.recent_days
        count, days = active.shape
        zero = np.zeros((count, 1))
        values = np.concatenate([zero, np.cumsum(np.nan_to_num(active), axis=1)], axis=1)
        present = np.concatenate([zero, np.cumsum(~np.isnan(active), axis=1)], axis=1)

        def sums(ends: IntArray) -> FloatArray:
            """Sums over days (end − length, end]; NaN where the window has no row."""
            high = np.clip(ends + 1, 0, days)
            low = np.clip(ends + 1 - length, 0, days)
            seen = present[:, high] - present[:, low]
            return as_float(np.where(seen > 0, values[:, high] - values[:, low], np.nan))

        ends = as_int(np.arange(days))
        now = np.stack([sums(as_int(ends - 7 * k)) for k in range(weeks + 1)], axis=-1)
        then = np.stack(
            [sums(as_int(ends - YEAR_IN_WEEKS_DAYS - 7 * k)) for k in range(weeks + 1)], axis=-1
        )
        flat_now = now.reshape(-1, weeks + 1)
        seen = as_bool(~np.isnan(flat_now).all(axis=1))
        drops = drops_from_sums(flat_now, then.reshape(-1, weeks + 1), seen, self.config)
        threshold = playbook.trigger.drop or rules.threshold
        change = as_float(drops["change"]).reshape(count, days)
        baseline = np.nan_to_num(as_float(drops["baseline"])).reshape(count, days)
        flagged = (np.nan_to_num(change, nan=0.0) <= -threshold) & (baseline > 0)
        flagged &= seen.reshape(count, days)
        flagged[:, : weeks * 7 + length] = False  # the signal needs its whole baseline
        return flagged, change

    def _walk(
        self,
        row: int,
        local_row: int,
        flagged: npt.NDArray[np.bool_],
        change: FloatArray,
        state: _DropState,
        playbook: Playbook,
    ) -> int | None:
        """Start the account's usage-drop runs from where its search stands; the day its
        usage must be drawn again from (a play lifted it), or None when it is done."""
        rules = self.config.usage_drop
        episode = rules.baseline_weeks * 7 + rules.recent_days
        window = self._window
        for t in np.flatnonzero(flagged).tolist():
            if t < state.cursor[local_row] or t >= window.last_index:
                continue  # runs start before the as-of day
            if t < state.open_until[local_row] or t <= state.last_trigger[local_row] + episode:
                continue
            if not self.world.is_customer(row, t):
                continue
            details = {
                "drop": round(-float(change[t]), 3),
                "threshold": playbook.trigger.drop or rules.threshold,
                "recent_days": rules.recent_days,
                "baseline_weeks": rules.baseline_weeks,
            }
            at = dt.datetime.combine(window.date(t), SWEEP_TIME, tzinfo=dt.UTC)
            run = self._start(playbook, row, at, details)
            state.last_trigger[local_row] = t
            state.open_until[local_row] = (
                FAR if run.closed_at is None else window.index(run.closed_at.date()) + 1
            )
            state.cursor[local_row] = t + 1
            start = self._act(run)
            if start is not None:
                return start
        state.cursor[local_row] = window.days
        return None

    # --- runs found in the stored data -----------------------------------------------------

    def write(self, connection: Connection, write: Callable[[str, pd.DataFrame], None]) -> int:
        """Find the runs of the playbooks the stored data fires, give every run its health
        at the start, and write them all with their plays (`write(table, frame)`, the
        seed's bulk writer); how many runs were written."""
        session = Session(bind=connection, join_transaction_mode="rollback_only")
        try:
            for key in ("detractor-recovery", "promoter-advocacy"):
                if (playbook := self.config.playbook(key)) is not None:
                    self._answer_runs(session, playbook)
            if (playbook := self.config.playbook("no-touch")) is not None:
                self._quiet_runs(session, playbook)
            # Every score needed is asked for first, so each check day is scored once.
            scores = _Scores(session, self.config, self.world)
            for run in self._runs:
                scores.want(self._check_day(run.day), run.row)
            if (playbook := self.config.playbook("red-health")) is not None:
                self._red_runs(playbook, scores)
            for run in self._runs:
                if run.health is None:
                    run.health = scores.score(self._check_day(run.day), run.row)
            written = self._insert(session.connection(), write)
        finally:
            session.close()
        return written

    def _red_runs(self, playbook: Playbook, scores: _Scores) -> None:
        """Weekly checks of the accounts whose health curve fell low: a run per red spell."""
        world, window = self.world, self._window
        checks = as_int(np.arange(window.last_index - 1, 0, -CHECK_DAYS)[::-1])
        rows = as_int(np.arange(world.count))[:, None]
        customer = world.is_customer(rows, checks)
        curve = world.health(rows, checks)
        # Only checks where the curve is low are scored: a thriving account is not red.
        scored = customer & (curve < RED_SCORED_BELOW)
        candidates = np.flatnonzero((scored & (curve < RED_CANDIDATE_HEALTH)).any(axis=1))
        if not len(candidates):
            return
        for row in candidates.tolist():
            for t in checks[scored[row]].tolist():
                scores.want(window.date(t), row)
        red_below = self.config.health.bands.red_below
        for row in candidates.tolist():
            before: tuple[dt.date, float] | None = None
            spell_had_run = False
            open_until: dt.datetime | None = None
            for position, t in enumerate(checks.tolist()):
                day = window.date(t)
                score = scores.score(day, row) if scored[row, position] else None
                if score is None:  # not scored (thriving) or not a customer: not red
                    before, spell_had_run = None, False
                    continue
                if score >= red_below:
                    before, spell_had_run = (day, score), False
                    continue
                at = dt.datetime.combine(day, SWEEP_TIME, tzinfo=dt.UTC)
                if spell_had_run or (open_until is not None and open_until > at):
                    continue
                details: dict[str, Any] = {"score": round(score, 1), "red_since": day.isoformat()}
                if before is not None:
                    details["before"] = {
                        "day": before[0].isoformat(),
                        "score": round(before[1], 1),
                        "band": band_for(before[1], self.config).value,
                    }
                run = self._start(playbook, row, at, details)
                run.health = round(score, 1)
                spell_had_run = True
                open_until = run.closed_at or self._until

    def _answer_runs(self, session: Session, playbook: Playbook) -> None:
        """A run for each stored answer in the playbook's band, when it arrived, unless a
        run of it was open for the account then (or the intake already started one)."""
        band = playbook.trigger.kind
        kinds = playbook.trigger.surveys or list(SurveyKind)
        row_of = {int(account_id): row for row, account_id in enumerate(self.world.ids.tolist())}
        follow_ups = {
            int(response_id): int(follow_up_id)
            for response_id, follow_up_id in session.execute(
                select(FollowUp.survey_response_id, FollowUp.id)
            )
        }
        started = {
            (int(account_id), at.replace(microsecond=0))
            for account_id, at in session.execute(
                select(PlaybookRun.account_id, PlaybookRun.triggered_at).where(
                    PlaybookRun.playbook == playbook.key
                )
            )
        }
        answers = session.execute(
            select(
                SurveyResponse.id,
                SurveyResponse.account_id,
                SurveyResponse.kind,
                SurveyResponse.score,
                SurveyResponse.comment,
                SurveyResponse.respondent_name,
                SurveyResponse.respondent_email,
                SurveyResponse.submitted_at,
                SurveyResponse.received_at,
            )
            .where(SurveyResponse.account_id.is_not(None), SurveyResponse.kind.in_(kinds))
            .order_by(SurveyResponse.account_id, SurveyResponse.received_at, SurveyResponse.id)
        ).all()
        open_until: dict[int, dt.datetime] = {}
        for answer in answers:
            row = row_of.get(int(answer.account_id))
            if row is None or band_of(answer.kind, answer.score).value != band:
                continue
            at: dt.datetime = answer.received_at
            if at >= self._until or (int(answer.account_id), at.replace(microsecond=0)) in started:
                continue
            if not self.world.is_customer(row, self._window.index(at.date())):
                continue
            if open_until.get(row, at) > at:
                continue
            comment = (answer.comment or "").strip()
            details = {
                "survey": SurveyKind(answer.kind).value,
                "score": answer.score,
                "band": band,
                "respondent": answer.respondent_name or answer.respondent_email,
                "submitted_at": answer.submitted_at.isoformat(),
                "comment": comment[:COMMENT_KEPT_CHARS] or None,
                "follow_up": follow_ups.get(answer.id),
            }
            run = self._start(playbook, row, at, details)
            if row == 0 and band == "detractor" and run.status is PlaybookRunStatus.OPEN:
                self._acme(run)
            open_until[row] = run.closed_at or self._until

    def _acme(self, run: _Run) -> None:
        """Acme's newest detractor run as docs and tests expect it: its owner replied within
        the working day, and the rest is open (the next play overdue if its day passed)."""
        first, *rest = run.plays
        first.status = PlayStatus.DONE
        first.done_at = min(self._working(run.triggered_at + dt.timedelta(hours=2)), first.due_at)
        first.note = "Replied personally and offered a call."
        for play in rest:
            play.status, play.done_at, play.note = PlayStatus.TODO, None, None

    def _quiet_runs(self, session: Session, playbook: Playbook) -> None:
        """A run each time an account went `days` days without a stored touchpoint."""
        days = playbook.trigger.days
        assert days is not None
        window, world = self._window, self.world
        touches: dict[int, list[dt.datetime]] = {}
        for account_id, at in session.execute(
            select(Activity.account_id, Activity.occurred_at).order_by(Activity.occurred_at)
        ):
            touches.setdefault(int(account_id), []).append(at)
        row_of = {int(account_id): row for row, account_id in enumerate(world.ids.tolist())}
        for account_id, times in touches.items():
            row = row_of.get(account_id)
            if row is None:
                continue
            created = world.created_on[row]
            last_touch = times[0]
            following = 1
            quiet_from = last_touch.date()
            blocked_until: dt.datetime | None = None
            while True:
                fire = quiet_from + dt.timedelta(days=days)
                if following < len(times) and times[following].date() <= fire:
                    last_touch = times[following]
                    quiet_from = last_touch.date()
                    following += 1
                    continue
                t = window.index(fire)
                if t >= window.last_index or not world.is_customer(row, t):
                    break
                at = dt.datetime.combine(fire, SWEEP_TIME, tzinfo=dt.UTC)
                if blocked_until is not None and blocked_until > at:
                    quiet_from = blocked_until.date() - dt.timedelta(days=days)
                    continue
                details = {
                    "days": (fire - last_touch.date()).days,
                    "limit": days,
                    "last_touch": last_touch.date().isoformat(),
                    "customer_since": created.isoformat(),
                }
                run = self._start(playbook, row, at, details)
                blocked_until = run.closed_at or self._until
                quiet_from = fire

    # --- writing ---------------------------------------------------------------------------

    def _check_day(self, day: dt.date) -> dt.date:
        """The last weekly check on or before `day`."""
        last = self._window.as_of - dt.timedelta(days=1)
        behind = (last - day).days
        return (
            last - dt.timedelta(days=-(-behind // CHECK_DAYS) * CHECK_DAYS) if behind > 0 else day
        )

    def _insert(self, connection: Connection, write: Callable[[str, pd.DataFrame], None]) -> int:
        """Write the runs and their plays with ids given here (after any the intake wrote),
        so plays can name their run; PostgreSQL's sequences are then moved past them."""
        if not self._runs:
            return 0
        runs = sorted(self._runs, key=lambda run: (run.triggered_at, run.row, run.playbook.key))
        base = {
            table: int(connection.scalar(select(func.coalesce(func.max(column), 0))) or 0)
            for table, column in (("runs", PlaybookRun.id), ("plays", PlaybookPlay.id))
        }
        run_rows: list[dict[str, Any]] = []
        play_rows: list[dict[str, Any]] = []
        for number, run in enumerate(runs, start=base["runs"] + 1):
            owner = int(self.world.owner_id[run.row])
            account_id = int(self.world.ids[run.row])
            is_open = run.status is PlaybookRunStatus.OPEN
            run_rows.append(
                {
                    "id": number,
                    "playbook": run.playbook.key,
                    "playbook_name": run.playbook.name,
                    "trigger": run.playbook.trigger.kind,
                    "trigger_details": run.details,
                    "account_id": account_id,
                    "owner_id": owner,
                    "status": run.status.value,
                    "open_key": open_key(run.playbook.key, account_id) if is_open else None,
                    "triggered_at": run.triggered_at,
                    "health_at_start": run.health,
                    "closed_at": run.closed_at,
                    "closed_by_id": None if is_open else owner,
                    "note": run.note,
                }
            )
            end = run.closed_at or self._until
            for play in run.plays:
                # What the overdue sweep would have stamped: a reminder soon after the due
                # time, an escalation days later, if the play was still to do then.
                finished = min(play.done_at or end, end)
                reminded = play.due_at + REMIND_AFTER
                escalated = play.due_at + ESCALATE_AFTER
                play_rows.append(
                    {
                        "id": base["plays"] + len(play_rows) + 1,
                        "run_id": number,
                        "position": play.position,
                        "title": play.title,
                        "due_at": play.due_at,
                        "status": play.status.value,
                        "done_at": play.done_at,
                        "done_by_id": owner if play.done_at else None,
                        "note": play.note,
                        "reminded_at": reminded if reminded < finished else None,
                        "escalated_at": escalated if escalated < finished else None,
                    }
                )
        # Nullable ids stay integers (a column with a gap would otherwise become float).
        runs_frame = pd.DataFrame(run_rows).astype({"closed_by_id": "Int64"})
        write("playbook_runs", runs_frame)
        write("playbook_plays", pd.DataFrame(play_rows).astype({"done_by_id": "Int64"}))
        if connection.dialect.name == "postgresql":
            for table in ("playbook_runs", "playbook_plays"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f'coalesce(max(id), 0) + 1, false) FROM "{table}"'
                    )
                )
        return len(run_rows)


class _DropState:
    """Per account of a usage block: where the search stands, the last run's trigger day
    and the day its run stopped blocking a new one."""

    def __init__(self, count: int) -> None:
        self.cursor = as_int(np.zeros(count))
        self.last_trigger = as_int(np.full(count, -FAR))
        self.open_until = as_int(np.zeros(count))


class _Scores:
    """Health scores of (day, account) pairs, computed a day at a time by the scorecard, as
    the snapshot of that day would store them; ask for every pair first, then read."""

    def __init__(self, session: Session, config: Config, world: AccountPlan) -> None:
        self._session = session
        self._config = config
        self._world = world
        self._wanted: dict[dt.date, set[int]] = {}
        self._known: dict[tuple[dt.date, int], float | None] = {}

    def want(self, day: dt.date, row: int) -> None:
        if (day, row) not in self._known:
            self._wanted.setdefault(day, set()).add(row)

    def score(self, day: dt.date, row: int) -> float | None:
        if (day, row) not in self._known:
            self.want(day, row)
            self._compute(day)
        return self._known[(day, row)]

    def _compute(self, day: dt.date) -> None:
        rows = sorted(self._wanted.pop(day, set()))
        if not rows:
            return
        ids = [int(self._world.ids[row]) for row in rows]
        inputs = account_inputs(self._session, day, self._config, ids)
        scored = score_frame(inputs, self._config)["score"].to_dict() if len(inputs) else {}
        for row, account_id in zip(rows, ids, strict=True):
            value = scored.get(account_id)
            self._known[(day, row)] = None if value is None else round(float(value), 1)
