"""The closed loop's recent history: answers arrive through the survey webhook's intake, and
the demo team claims, hands over and closes them the way a CS team does.

Answers of the last `HISTORY_DAYS` days that an SLA or an alert rule could concern are
not bulk-written like the others (`split_answers`). Each is stored by
`intake.record_answer`, the function behind `POST /webhooks/surveys/{provider}`, at the
moment it arrived, so its follow-up is opened, routed and timed as a live answer's would
be. The team then works the follow-ups through `followups.claim`, `reassign` and
`close` (what the Claim, Reassign and Close buttons call), and the SLA clock runs through
`sla.run_sla` at each moment the service's minute-by-minute check would have found
something due. Everything happens in time order up to the start of the as-of day, where
seeded data ends; whatever falls later has not happened yet. That is what leaves the
newest answers unclaimed and some loops in progress when the demo opens.

Why 90 days: `nps` reads the last 90 days by default, and its "Closed loop" line should
cover the same answers as its scores. `followups sla` (30 days) gets a realistic n too.
The intake costs milliseconds per answer, so past `MAX_REPLAYED` answers (a portfolio of
thousands of accounts) the history starts later: at 10,000 accounts it still covers the
30 days `followups sla` reads, and seeding stays within its two-minute budget.

How the team works (`DEMO_CONFIG`: the default SLA, bands and outcomes, so detractors
open follow-ups with their SLA, plus a rule that sends NPS promoters to the account
owner's direct messages, which opens theirs; passives open none):

* CSMs work 12:00–22:00 UTC on weekdays. A detractor is claimed within a couple of hours
  of reaching them; a night's answers wait for the morning and a weekend's for Monday,
  unless someone sees the alert on their phone. So most make the 24 h SLA and some miss
  it. A few are never picked up by the CSM: the manager steps in days after the
  escalation and hands them to the owner or a teammate.
* Now and then a teammate claims while the owner is away, or the manager hands a claimed
  follow-up to a teammate. CSMs differ: each has their own pace, and some are too busy.
* Closing takes about a day after the claim, with every outcome; each note says what
  was done. Promoters are thanked within a day or two (a reference or a case study for
  Enterprise customers, a review or a referral otherwise).
* Acme's detractor is claimed by its CSM within the working day and still in progress. Even a small
  data set shows every state: the newest detractor waits for its claim, one is open past
  its SLA, one was picked up late, and each outcome appears.

Alerts: none of the messages the intake and the SLA owe (an alert per routed answer,
reminders, escalations) is left in the outbox. The moments they were for have passed, as a real
team's alerts were delivered long ago; a service started later, or Slack connected next
week, must neither post months-old alerts nor log a failed delivery for each. They are
taken back with `outbox.withdraw` in the seeding transaction; the follow-ups keep the
whole history (created, reminded, escalated, claimed, closed). Answers that come due
after the seed are the service's to remind and escalate, as live ones are.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from metrics_core.accounts.team import Member
from metrics_core.config import Alerts, Config, Route
from metrics_core.delivery import outbox
from metrics_core.followups import intake, sla
from metrics_core.followups import work as followups
from metrics_core.followups.work import Change, Outcome
from metrics_core.store.models import AnswerBand, SurveyKind, TeamRole
from metrics_core.surveys.answers import SurveyAnswer
from metrics_core.surveys.scores import band_of
from metrics_core.synthetic.accounts import AccountPlan
from metrics_core.synthetic.team import ENTERPRISE, TeamPlan
from metrics_core.synthetic.text import Picker, fill, vocabulary
from metrics_core.synthetic.window import Window

HISTORY_DAYS = 90
# At most this many answers go through the intake (about 35 days of 10,000 accounts).
MAX_REPLAYED = 1_500

DEMO_CONFIG = Config(
    alerts=Alerts(
        routes=[
            Route(
                name="NPS promoters to their CSM, to thank them",
                bands=[AnswerBand.PROMOTER],
                surveys=[SurveyKind.NPS],
                owner_dm=True,
            ),
        ]
    )
)

WORK_START_HOUR = 12
WORK_END_HOUR = 22
# Work that reaches someone outside the working day waits up to this long into the next.
MORNING_SECONDS = 90 * 60
PHONE = 0.25  # a detractor alert seen and claimed outside the working day
CLAIM_MEDIAN_HOURS = 1.5
CLAIM_SPREAD = 0.9  # σ of log hours
CLOSE_MEDIAN_HOURS = 26.0
CLOSE_SPREAD = 0.9
PACE_SPREAD = 0.45  # how much CSMs differ in speed (σ of a log multiplier)
BUSY_CSMS = 0.25
STUCK = {False: 0.03, True: 0.12}  # detractors a CSM never picks up, by whether they are busy
MANAGER_STEPS_IN_DAYS = 2.0  # median, after the escalation
COVER = 0.1  # a teammate claims while the owner is away
HANDOVER = 0.05  # the manager hands a claimed follow-up to a teammate
THANK_MEDIAN_HOURS = 20.0
THANK_WRITE_HOURS = 3.0
THANKED = "contacted"
OUTCOME_WEIGHTS = {
    "resolved": 0.38,
    "contacted": 0.32,
    "unreachable": 0.17,
    "no_action_needed": 0.13,
}
ACME_CLAIM_AFTER = dt.timedelta(minutes=40)

CLAIM, REASSIGN, CLOSE = "claim", "reassign", "close"


def seeded_until(window: Window) -> dt.datetime:
    """Where seeded time ends: the start of the as-of day (see `Window`)."""
    return dt.datetime.combine(window.as_of, dt.time(), tzinfo=dt.UTC)


def history_start(window: Window) -> dt.datetime:
    """From here on, answers arrive through the intake (later past `MAX_REPLAYED`)."""
    return seeded_until(window) - dt.timedelta(days=HISTORY_DAYS)


def _concerns(config: Config, kind: SurveyKind, band: AnswerBand) -> bool:
    """Whether an SLA band or an alert rule of `config` could concern such an answer.

    A superset of the answers the intake opens follow-ups for (a rule's other conditions
    are left to the intake), so every one that gets a follow-up goes through it.
    """
    if band in config.follow_ups.sla_bands:
        return True
    return any(
        (not route.bands or band in route.bands)
        and (not route.surveys or kind in route.surveys)
        and bool(route.slack_channels or route.teams_conversations or route.owner_dm)
        for route in config.alerts.routes
    )


def split_answers(
    surveys: pd.DataFrame, window: Window, config: Config = DEMO_CONFIG
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(answers to bulk-write; answers for `replay`, in arrival order).

    `replay` gets the answers of the history that an SLA or an alert rule could concern.
    The others (passives, CSAT and CES promoters) would only be stored by the intake, the
    very row they get here, so they are written with the older answers. The response ids
    stay the survey tool's; the database numbers the replayed answers as they arrive,
    like webhook deliveries. Past `MAX_REPLAYED` answers the history starts at a later
    midnight, which keeps seeding a large portfolio within its time budget.
    """
    arrived = surveys["received_at"].to_numpy().astype("datetime64[s]")
    start = np.datetime64(history_start(window).replace(tzinfo=None), "s")
    concerned = np.zeros(len(surveys), dtype=bool)
    for position in np.flatnonzero(arrived >= start).tolist():
        kind = SurveyKind(surveys["kind"].iat[position])
        band = band_of(kind, int(surveys["score"].iat[position]))
        concerned[position] = _concerns(config, kind, band)
    candidates = np.flatnonzero(concerned)
    if len(candidates) > MAX_REPLAYED:
        first = arrived[candidates[-MAX_REPLAYED]]
        start = first.astype("datetime64[D]").astype("datetime64[s]") + np.timedelta64(1, "D")
    replayed = concerned & (arrived >= start)
    if not np.all(np.diff(arrived[replayed].astype(np.int64)) >= 0):
        raise ValueError("survey answers must be in arrival order")
    return surveys[~replayed], surveys[replayed]


@dataclass(frozen=True)
class Replayed:
    answers: int
    follow_ups: int


@dataclass
class _Step:
    at: dt.datetime
    action: str
    by: int
    to: int | None = None
    outcome: str | None = None
    note: str | None = None


@dataclass
class _Loop:
    """One follow-up the intake opened, and what the team will do with it."""

    follow_up_id: int
    created: dt.datetime
    band: AnswerBand
    owner: int | None
    segment: int | None
    contact: str
    acme: bool
    steps: list[_Step] = field(default_factory=list)

    def first_contact(self) -> dt.datetime | None:
        return self.steps[0].at if self.steps else None


class _Crew:
    """The demo's team as the follow-up functions see it, with each CSM's habits."""

    def __init__(self, team: TeamPlan, rng: np.random.Generator) -> None:
        frame = team.frame
        self.members = {
            int(i): Member(int(i), str(name), TeamRole(role))
            for i, name, role in zip(frame["id"], frame["name"], frame["role"], strict=True)
        }
        managers = sorted(i for i, m in self.members.items() if m.role is TeamRole.MANAGER)
        self.first_manager = managers[0]
        self.manager_of = {
            int(i): self.first_manager if pd.isna(boss) else int(boss)
            for i, boss in zip(frame["id"], frame["manager_id"], strict=True)
        }
        csms = sorted(i for i, m in self.members.items() if m.role is TeamRole.CSM)
        self.teammates = {
            c: [o for o in csms if o != c and self.manager_of[o] == self.manager_of[c]]
            for c in csms
        }
        count = len(csms)
        self.pace = dict(zip(csms, np.exp(rng.normal(0, PACE_SPREAD, count)).tolist(), strict=True))
        self.close_pace = dict(
            zip(csms, np.exp(rng.normal(0, PACE_SPREAD, count)).tolist(), strict=True)
        )
        busy = (rng.random(count) < BUSY_CSMS).tolist()
        self.stuck = {c: STUCK[b] for c, b in zip(csms, busy, strict=True)}


def _after(at: dt.datetime, hours: float) -> dt.datetime:
    return at + dt.timedelta(seconds=math.floor(hours * 3600))


def _working(at: dt.datetime, rng: np.random.Generator) -> dt.datetime:
    """`at` if it falls in the working day, else a little after the next one starts."""
    if at.weekday() < 5 and WORK_START_HOUR <= at.hour < WORK_END_HOUR:
        return at
    day = at.date()
    if at.weekday() >= 5 or at.hour >= WORK_END_HOUR:
        day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(WORK_START_HOUR), tzinfo=dt.UTC)
    return start + dt.timedelta(seconds=math.floor(rng.uniform(0, MORNING_SECONDS)))


def _lognormal(rng: np.random.Generator, median: float, spread: float) -> float:
    return float(rng.lognormal(math.log(median), spread))


def _note(kind: str, loop: _Loop, picker: Picker) -> str:
    templates: list[str] = vocabulary()["closing_notes"][kind]
    text = fill(picker.pick(templates), picker, {"contact": loop.contact})
    return text[0].upper() + text[1:]


def _outcome(outcomes: list[str], rng: np.random.Generator) -> str:
    weights = np.array([OUTCOME_WEIGHTS.get(o, min(OUTCOME_WEIGHTS.values())) for o in outcomes])
    return outcomes[int(rng.choice(len(outcomes), p=weights / weights.sum()))]


def _plan_detractor(
    loop: _Loop,
    crew: _Crew,
    config: Config,
    rng: np.random.Generator,
    picker: Picker,
    stuck: bool | None = None,
) -> None:
    owner = loop.owner if loop.owner is not None else crew.first_manager
    manager = crew.manager_of.get(owner, crew.first_manager)
    loop.steps.clear()
    if stuck is None:
        stuck = bool(rng.random() < crew.stuck.get(owner, STUCK[False]))
    if stuck:
        waited = config.follow_ups.escalate_after_hours + 24 * _lognormal(
            rng, MANAGER_STEPS_IN_DAYS, 0.6
        )
        at = _working(_after(loop.created, waited), rng)
        mates = crew.teammates.get(owner, [])
        holder = picker.pick(mates) if mates and picker.chance(0.5) else owner
        loop.steps.append(_Step(at, REASSIGN, manager, to=holder))
    else:
        delay = _lognormal(rng, CLAIM_MEDIAN_HOURS * crew.pace.get(owner, 1.0), CLAIM_SPREAD)
        at = _after(loop.created, delay)
        if rng.random() >= PHONE:
            at = _working(at, rng)
        mates = crew.teammates.get(owner, [])
        holder = picker.pick(mates) if mates and picker.chance(COVER) else owner
        loop.steps.append(_Step(at, CLAIM, holder))
        mates = crew.teammates.get(holder, [])
        if mates and picker.chance(HANDOVER):
            at = _working(_after(at, float(rng.uniform(1, 24))), rng)
            holder = picker.pick(mates)
            loop.steps.append(_Step(at, REASSIGN, crew.manager_of.get(holder, manager), to=holder))
    hours = _lognormal(rng, CLOSE_MEDIAN_HOURS * crew.close_pace.get(holder, 1.0), CLOSE_SPREAD)
    outcome = _outcome(config.follow_ups.outcomes, rng)
    loop.steps.append(
        _Step(
            _working(_after(at, hours), rng),
            CLOSE,
            holder,
            outcome=outcome,
            note=_note(outcome, loop, picker) if outcome in OUTCOME_WEIGHTS else None,
        )
    )


def _plan_thanks(
    loop: _Loop, crew: _Crew, config: Config, rng: np.random.Generator, picker: Picker
) -> None:
    holder = loop.owner if loop.owner is not None else crew.first_manager
    delay = _lognormal(rng, THANK_MEDIAN_HOURS * crew.pace.get(holder, 1.0), 0.8)
    claimed = _working(_after(loop.created, delay), rng)
    closed = _working(_after(claimed, _lognormal(rng, THANK_WRITE_HOURS, 0.8)), rng)
    outcome = THANKED if THANKED in config.follow_ups.outcomes else config.follow_ups.outcomes[0]
    kind = "thanks_enterprise" if loop.segment == ENTERPRISE else "thanks"
    loop.steps = [
        _Step(claimed, CLAIM, holder),
        _Step(closed, CLOSE, holder, outcome=outcome, note=_note(kind, loop, picker)),
    ]


def _ensure_every_state(
    loops: list[_Loop],
    crew: _Crew,
    config: Config,
    until: dt.datetime,
    rng: np.random.Generator,
    picker: Picker,
) -> None:
    """Adjust a few fates, deterministically, so that even a small demo shows every state."""
    rules = config.follow_ups
    sla_hours = dt.timedelta(hours=rules.escalate_after_hours)
    due = [loop for loop in loops if loop.band in rules.sla_bands and not loop.acme]
    if not due:
        return
    newest, older = due[-1], due[:-1]
    newest.steps.clear()  # it came in last; its claim is the as-of day's work

    def open_past_sla(loop: _Loop) -> bool:
        contact = loop.first_contact()
        return loop.created + sla_hours < until and (contact is None or contact >= until)

    def late(loop: _Loop) -> bool:
        contact = loop.first_contact()
        return contact is not None and loop.created + sla_hours < contact < until

    if not any(open_past_sla(loop) for loop in due):
        waiting = [loop for loop in older if loop.created + 2 * sla_hours < until]
        if waiting:
            waiting[-1].steps.clear()
    if not any(late(loop) for loop in due):
        settled = [loop for loop in older if not open_past_sla(loop)]
        if settled:
            _plan_detractor(settled[0], crew, config, rng, picker, stuck=True)

    closes = [
        (loop, step)
        for loop in due
        for step in loop.steps
        if step.action == CLOSE and step.at < until
    ]
    used = Counter(step.outcome for _, step in closes)
    for outcome in rules.outcomes:
        if used[outcome]:
            continue
        for loop, step in closes:
            if used[step.outcome] > 1:
                used[step.outcome] -= 1
                used[outcome] += 1
                step.outcome = outcome
                step.note = _note(outcome, loop, picker) if outcome in OUTCOME_WEIGHTS else None
                break


def _intake(
    session: Session,
    recent: pd.DataFrame,
    plan: AccountPlan,
    config: Config,
    advance: Callable[[str, int], None],
) -> list[_Loop]:
    """Each answer through the webhook's intake at its arrival; the follow-ups it opened."""
    row_of = {account_id: row for row, account_id in enumerate(plan.ids.tolist())}
    acme_nps = recent[(recent["account_id"] == plan.ids[0]) & (recent["kind"] == "nps")]
    acme_answer = acme_nps["provider_response_id"].iloc[-1] if len(acme_nps) else None
    loops: list[_Loop] = []
    columns = zip(
        recent["provider"].tolist(),
        recent["provider_response_id"].tolist(),
        recent["kind"].tolist(),
        recent["score"].tolist(),
        recent["comment"].tolist(),
        recent["respondent_email"].tolist(),
        recent["respondent_name"].tolist(),
        recent["account_id"].tolist(),
        recent["received_at"].to_numpy().astype("datetime64[s]").tolist(),
        strict=True,
    )
    for count, (provider, response_id, kind, score, comment, email, name, account, at) in enumerate(
        columns, start=1
    ):
        arrived = at.replace(tzinfo=dt.UTC)
        row = row_of.get(account)
        answer = SurveyAnswer(
            provider=provider,
            response_id=response_id,
            kind=SurveyKind(kind),
            score=int(score),
            submitted_at=arrived,
            comment=comment if isinstance(comment, str) else None,
            respondent_email=email,
            respondent_name=name,
            account_external_id=plan.external_ids[row] if row is not None else None,
        )
        stored = intake.record_answer(session, answer, config=config, fallback=None, now=arrived)
        session.flush()
        session.expunge_all()
        if stored.follow_up_id is not None:
            loops.append(
                _Loop(
                    follow_up_id=stored.follow_up_id,
                    created=arrived,
                    band=band_of(answer.kind, answer.score),
                    owner=int(plan.owner_id[row]) if row is not None else None,
                    segment=int(plan.segment[row]) if row is not None else None,
                    contact=name.split()[0] if name else "the customer",
                    acme=response_id == acme_answer,
                )
            )
        if count % 500 == 0:
            advance("survey_responses", 500)
    advance("survey_responses", len(recent) % 500)
    return loops


def _act(session: Session, loop: _Loop, step: _Step, crew: _Crew, config: Config) -> None:
    member = crew.members[step.by]
    change: Change
    if step.action == CLAIM:
        change = followups.claim(session, loop.follow_up_id, member, step.at)
    elif step.action == REASSIGN:
        assert step.to is not None
        change = followups.reassign(session, loop.follow_up_id, member, step.to, step.at)
    else:
        assert step.outcome is not None
        change = followups.close(
            session,
            loop.follow_up_id,
            member,
            outcome=step.outcome,
            note=step.note,
            allowed_outcomes=config.follow_ups.outcomes,
            now=step.at,
        )
    if change.outcome is not Outcome.DONE:
        raise RuntimeError(
            f"the demo's {step.action} of follow-up {loop.follow_up_id} was refused: "
            f"{change.outcome.value} {change.detail or ''}".strip()
        )


def _run(
    session: Session, loops: list[_Loop], crew: _Crew, config: Config, until: dt.datetime
) -> None:
    """Every step and SLA check before `until`, in time order (checks first on a tie)."""
    rules = config.follow_ups
    checks: set[dt.datetime] = set()
    timeline: list[tuple[dt.datetime, int, tuple[_Loop, _Step] | None]] = []
    for number, loop in enumerate(loops, start=1):
        timeline += [(step.at, number, (loop, step)) for step in loop.steps if step.at < until]
        if loop.band not in rules.sla_bands:
            continue
        contact = loop.first_contact()
        for hours in (rules.remind_after_hours, rules.escalate_after_hours):
            moment = loop.created + dt.timedelta(hours=hours)
            if moment < until and (contact is None or contact > moment):
                checks.add(moment)
    timeline += [(moment, 0, None) for moment in checks]
    timeline.sort(key=lambda event: (event[0], event[1]))
    for at, _, action in timeline:
        if action is None:
            sla.run_sla(session, config, at, fallback=None)
        else:
            _act(session, *action, crew, config)
        session.flush()
        session.expunge_all()


def replay(
    connection: Connection,
    recent: pd.DataFrame,
    plan: AccountPlan,
    team: TeamPlan,
    rng: np.random.Generator,
    *,
    advance: Callable[[str, int], None],
    config: Config = DEMO_CONFIG,
) -> Replayed:
    """Store the recent answers through the intake and play the team's follow-up history.

    Runs inside the seeding transaction on `connection`; `advance(table, rows)` reports
    rows as they are written.
    """
    until = seeded_until(plan.window)
    picker = Picker(rng)
    session = Session(bind=connection, join_transaction_mode="rollback_only")
    try:
        loops = _intake(session, recent, plan, config, advance)
        crew = _Crew(team, rng)
        for loop in loops:
            if loop.acme:
                owner = loop.owner if loop.owner is not None else crew.first_manager
                loop.steps = [_Step(_working(loop.created + ACME_CLAIM_AFTER, rng), CLAIM, owner)]
            elif loop.band in config.follow_ups.sla_bands:
                _plan_detractor(loop, crew, config, rng, picker)
            elif loop.band is AnswerBand.PROMOTER:
                _plan_thanks(loop, crew, config, rng, picker)
        _ensure_every_state(loops, crew, config, until, rng, picker)
        _run(session, loops, crew, config, until)
        outbox.withdraw(session, follow_up_ids=[loop.follow_up_id for loop in loops])
        session.flush()
    finally:
        session.close()
    advance("follow_ups", len(loops))
    return Replayed(answers=len(recent), follow_ups=len(loops))
