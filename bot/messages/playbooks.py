"""What a playbook run says: its checklist, the reminder and escalation of a late play, and
the lists `/playbooks`, App Home and digests show.

Every message is rendered from the run as it stands (`metrics_core.playbooks.runs.RunView`),
so the checklist in the owner's chat shows each play done, skipped or overdue once it is.
The buttons carry only the run and the play's number; who may press them is decided when
they are pressed (`bot.handlers.playbooks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.actions import PLAY_DONE, PLAY_SKIP, RUN_DROP, details_action, open_action
from bot.formatting import count, likelihood, money, percent
from bot.reply import Action, Fact, Field, Form, Metric, Reply, Table, Tone, Visibility
from metrics_core.config import Config
from metrics_core.delivery.outbox import Due
from metrics_core.playbooks.overdue import OverduePlays
from metrics_core.playbooks.runs import (
    PLAY_ESCALATION,
    PLAY_REMINDER,
    AccountRuns,
    PlayView,
    RunList,
    RunView,
    days_late,
)
from metrics_core.store.models import PlaybookRunStatus, PlayStatus

PLAY_BUTTONS = 3
"""Plays offered Done and Skip buttons at once, the earliest due first: with Drop and the
account, a checklist stays within a row or two of buttons on every platform."""
LISTED = 25
"""Runs a list shows (a table's rows on a Teams card)."""
OPENERS = 5
"""Runs of a list offered an "Open" button, the most urgent first."""
TITLE_CHARS = 60


def run_command(run_id: int) -> str:
    """The command that shows one run's checklist."""
    return f"playbooks run {run_id}"


def note_field(action_id: str, position: int | str | None = None) -> str:
    """The name of the note a Done, Skip or Drop button's form asks, one per button: Teams
    shows every button's form on the one card, where two inputs must not share a name."""
    if action_id == RUN_DROP:
        return "drop_note"
    return f"{'done' if action_id == PLAY_DONE else 'skip'}_note_{position}"


def done_form(position: int) -> Form:
    """Done asks a note as Skip does, but it may be left empty: what was done is worth
    keeping beside the play, yet a play that speaks for itself needs no explanation."""
    return Form(
        title=f"Play {position} done",
        submit="Done",
        fields=(
            Field(note_field(PLAY_DONE, position), "What was done?", multiline=True, optional=True),
        ),
    )


def skip_form(position: int) -> Form:
    return Form(
        title=f"Skip play {position}",
        submit="Skip",
        fields=(Field(note_field(PLAY_SKIP, position), "Why does it not apply?", multiline=True),),
    )


def drop_form() -> Form:
    return Form(
        title="Drop the run",
        submit="Drop",
        fields=(Field(note_field(RUN_DROP), "Why stop here?", multiline=True),),
    )


def _day(day: dt.date | dt.datetime) -> str:
    return f"{day:%d %b %Y}"


def _short(text: str, limit: int = TITLE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _late(days: int) -> str:
    return "due yesterday" if days == 1 else f"{days} days late"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None


def why(run: RunView, currency: str = "USD") -> str:
    """Why the run started, in one sentence from what its trigger saw."""
    d: Mapping[str, Any] = run.details
    kind = run.trigger
    if kind == "health_red":
        score = _number(d.get("score"))
        text = "Health entered the red band" + (f": {score:.0f}/100" if score is not None else "")
        if (since := _text(d.get("red_since"))) is not None:
            text += f", red since {since}"
        before = d.get("before")
        if isinstance(before, Mapping) and _number(before.get("score")) is not None:
            text += (
                f" (it was {_number(before.get('score')):.0f}, {before.get('band', '?')}, "
                f"on {before.get('day', '?')})"
            )
        return text + "."
    if kind == "usage_drop":
        drop, threshold = _number(d.get("drop")), _number(d.get("threshold"))
        return (
            f"Active use over the last {d.get('recent_days', 7)} days is "
            f"{percent(drop, 0)} below the same weekdays of the {d.get('baseline_weeks', 4)} "
            f"weeks before (the playbook starts at {percent(threshold, 0)})."
        )
    if kind in ("detractor", "promoter"):
        survey = str(d.get("survey", "survey")).upper()
        who = _text(d.get("respondent")) or "an anonymous respondent"
        text = f"{survey} {d.get('score', '?')} ({kind}) from {who}"
        if (at := _text(d.get("submitted_at"))) is not None:
            text += f" on {at[:10]}"
        comment = _text(d.get("comment"))
        return f"{text}: “{comment}”" if comment else f"{text}."
    if kind == "renewal_risk":
        driver = _text(d.get("driver"))
        return (
            f"Renewal on {d.get('renewal_date', '?')} ({money(_number(d.get('arr')), currency)} "
            f"ARR) with churn risk {likelihood(_number(d.get('probability')))}; the playbook "
            f"starts at {percent(_number(d.get('min_risk')), 0)} within "
            f"{d.get('within_days', '?')} days." + (f" Main driver: {driver}." if driver else "")
        )
    if kind == "no_touchpoint":
        last = _text(d.get("last_touch"))
        since = (
            f"the last one was on {last}"
            if last
            else (f"none recorded since it became a customer on {d.get('customer_since', '?')}")
        )
        return (
            f"No CSM touchpoint for {d.get('days', '?')} days ({since}; the playbook starts "
            f"at {d.get('limit', '?')})."
        )
    if kind == "onboarding_stalled":
        return (
            f"Still onboarding {d.get('days', '?')} days after becoming a customer on "
            f"{d.get('created_on', '?')} (the playbook starts at {d.get('limit', '?')})."
        )
    return f"Started by its {kind} trigger."


def _status(play: PlayView, now: dt.datetime, *, run_open: bool = True) -> str:
    if play.status is PlayStatus.DONE:
        who = f" by {play.done_by}" if play.done_by else ""
        return f"done {play.done_at:%d %b}{who}" if play.done_at else f"done{who}"
    if play.status is PlayStatus.SKIPPED:
        who = f" by {play.done_by}" if play.done_by else ""
        return f"skipped {play.done_at:%d %b}{who}" if play.done_at else f"skipped{who}"
    if not run_open:
        return "not done"
    if play.overdue(now):
        return f"overdue, {_late(days_late(play.due_at, now))}"
    return "to do"


def _checklist(run: RunView, now: dt.datetime) -> Table:
    noted = any(play.note for play in run.plays)
    columns = ("#", "Play", "Due", "Status", *(("Note",) if noted else ()))
    rows = tuple(
        (
            str(play.position),
            play.title,
            f"{play.due_day:%d %b}",
            _status(play, now, run_open=run.status is PlaybookRunStatus.OPEN),
            *((play.note or "—",) if noted else ()),
        )
        for play in run.plays
    )
    return Table(columns, rows, title="Plays")


def _progress(run: RunView) -> str:
    done, skipped = run.count(PlayStatus.DONE), run.count(PlayStatus.SKIPPED)
    text = f"{done} of {len(run.plays)} done"
    return f"{text}, {skipped} skipped" if skipped else text


def _heading(run: RunView) -> str:
    state = {
        PlaybookRunStatus.OPEN: "",
        PlaybookRunStatus.COMPLETED: " (completed)",
        PlaybookRunStatus.DROPPED: " (dropped)",
    }[run.status]
    return f"Playbook: {run.playbook_name} — {run.account_name}{state}"


def run_actions(run: RunView) -> tuple[Action, ...]:
    """Done and Skip for the first plays still to do, Drop while open, the account always."""
    actions: list[Action] = []
    if run.status is PlaybookRunStatus.OPEN:
        for play in run.todo[:PLAY_BUTTONS]:
            payload = {"run": str(run.id), "play": str(play.position)}
            done = done_form(play.position)
            actions.append(
                Action(PLAY_DONE, f"Done #{play.position}", payload, primary=True, form=done)
            )
            skip = skip_form(play.position)
            actions.append(Action(PLAY_SKIP, f"Skip #{play.position}", payload, form=skip))
        actions.append(Action(RUN_DROP, "Drop run", {"run": str(run.id)}, form=drop_form()))
    actions.append(details_action(run.account_external_id))
    return tuple(actions)


def run_reply(
    run: RunView,
    now: dt.datetime,
    *,
    currency: str = "USD",
    visibility: Visibility = Visibility.PRIVATE,
    done: str | None = None,
) -> Reply:
    """A run's checklist: why it started, each play with its due day and status, buttons.

    `done` says what the press that led here did ("You marked play 2 done."), shown first.
    """
    overdue = run.overdue(now)
    paragraphs = [why(run, currency)]
    if run.status is PlaybookRunStatus.COMPLETED and run.closed_at is not None:
        by = f" by {run.closed_by}" if run.closed_by else ""
        paragraphs.append(f"Completed on {_day(run.closed_at)}{by}.")
    elif run.status is PlaybookRunStatus.DROPPED:
        by = f" by {run.closed_by}" if run.closed_by else ""
        when = f" on {_day(run.closed_at)}" if run.closed_at else ""
        paragraphs.append(f"Dropped{when}{by}: {run.note or 'no reason given'}")
    facts = [
        Fact("Owner", run.owner or "unassigned"),
        Fact("Started", _day(run.triggered_at)),
        Fact("Progress", _progress(run)),
    ]
    if run.health_at_start is not None:
        facts.append(Fact("Health at start", f"{run.health_at_start:.0f}/100"))
    notes = []
    if run.status is PlaybookRunStatus.OPEN and len(run.todo) > PLAY_BUTTONS:
        notes.append(
            f"Buttons for the {PLAY_BUTTONS} plays due first; the others get theirs as "
            "these are done or skipped."
        )
    notes.append(f"Run #{run.id}: `{run_command(run.id)}` shows this checklist.")
    metrics = (Metric("Overdue", count(len(overdue), "play"), tone=Tone.BAD),) if overdue else ()
    return Reply(
        heading=_heading(run),
        paragraphs=((done,) if done else ()) + tuple(paragraphs),
        metrics=metrics,
        facts=tuple(facts),
        tables=(_checklist(run, now),),
        notes=tuple(notes),
        actions=run_actions(run),
        visibility=visibility,
    )


def _next(run: RunView, now: dt.datetime) -> tuple[str, str]:
    """The next play to do and when it is due, as a list shows them."""
    todo = run.todo
    if not todo:
        return "—", "—"
    play = todo[0]
    when = _late(days_late(play.due_at, now)) if play.overdue(now) else f"{play.due_day:%d %b}"
    return f"#{play.position} {_short(play.title)}", when


def _rows(
    runs: Sequence[RunView], now: dt.datetime, *, owner: bool, account: bool = True
) -> tuple[tuple[str, ...], ...]:
    rows = []
    for run in runs:
        step, when = _next(run, now)
        rows.append(
            (
                f"#{run.id}",
                *((run.account_name,) if account else ()),
                run.playbook_name,
                *((run.owner or "unassigned",) if owner else ()),
                f"{run.triggered_at:%d %b}",
                _progress(run),
                step,
                when,
            )
        )
    return tuple(rows)


def _columns(owner: bool, account: bool = True) -> tuple[str, ...]:
    return (
        "Run",
        *(("Account",) if account else ()),
        "Playbook",
        *(("Owner",) if owner else ()),
        "Started",
        "Progress",
        "Next play",
        "Due",
    )


def _openers(runs: Sequence[RunView], *, by_playbook: bool = False) -> tuple[Action, ...]:
    """ "Open" buttons for the first runs, named by account (or, for one account's runs, by
    playbook)."""
    return tuple(
        open_action(
            _short(f"Open #{run.id} {run.playbook_name if by_playbook else run.account_name}", 40),
            run_command(run.id),
        )
        for run in runs[:OPENERS]
    )


NO_PLAYBOOKS = (
    "No playbook is configured, so none starts: add `[[playbooks]]` to closeloop.toml "
    "(closeloop.example.toml has seven to start from)."
)


def list_reply(
    heading: str, runs: RunList, now: dt.datetime, *, owner: bool, configured: bool
) -> Reply:
    """Open runs, the most urgent first: `mine` and `all`."""
    if not runs.total:
        return Reply(
            heading=heading,
            paragraphs=(
                "No open playbook runs."
                + (
                    " A playbook starts when its trigger fires for an account."
                    if configured
                    else ""
                ),
            ),
            notes=() if configured else (NO_PLAYBOOKS,),
        )
    shown = "" if runs.total <= len(runs.runs) else f" The {len(runs.runs)} most urgent are shown."
    return Reply(
        heading=heading,
        metrics=(
            Metric("Open runs", f"{runs.total:,}"),
            Metric(
                "Overdue plays",
                f"{runs.overdue_plays:,}",
                tone=Tone.BAD if runs.overdue_plays else Tone.GOOD,
            ),
        ),
        paragraphs=(f"Runs with overdue plays first, then by the next play's due day.{shown}",),
        tables=(Table(_columns(owner), _rows(runs.runs, now, owner=owner)),),
        actions=_openers(runs.runs),
    )


def account_reply(found: AccountRuns, name: str, now: dt.datetime, *, configured: bool) -> Reply:
    """One account's open runs and its latest finished ones."""
    heading = f"Playbooks — {name}"
    tables = []
    if found.open:
        tables.append(
            Table(
                _columns(True, account=False),
                _rows(found.open, now, owner=True, account=False),
                title="Open",
            )
        )
    if found.finished:
        tables.append(
            Table(
                ("Run", "Playbook", "Started", "Ended", "Outcome", "Progress"),
                tuple(
                    (
                        f"#{run.id}",
                        run.playbook_name,
                        f"{run.triggered_at:%d %b %Y}",
                        f"{run.closed_at:%d %b %Y}" if run.closed_at else "—",
                        run.status.value + (f": {_short(run.note, 40)}" if run.note else ""),
                        _progress(run),
                    )
                    for run in found.finished
                ),
                title=f"Finished, newest first ({found.finished_total})",
            )
        )
    if not tables:
        return Reply(
            heading=heading,
            paragraphs=(f"No playbook has run for {name}.",),
            notes=() if configured else (NO_PLAYBOOKS,),
        )
    return Reply(
        heading=heading,
        paragraphs=() if found.open else ("No open run.",),
        tables=tuple(tables),
        actions=_openers(found.open, by_playbook=True),
    )


def home_runs(runs: RunList, now: dt.datetime) -> Reply:
    """App Home's section: the viewer's open runs, those with overdue plays first."""
    heading = "Your playbook runs"
    if not runs.total:
        return Reply(heading=heading, paragraphs=("No open runs.",))
    return Reply(
        heading=heading,
        facts=(
            Fact(
                "Open runs",
                f"{runs.total:,}, {count(runs.overdue_plays, 'play')} overdue",
            ),
        ),
        tables=(
            Table(
                ("Account", "Playbook", "Next play", "Due"),
                tuple((run.account_name, run.playbook_name, *_next(run, now)) for run in runs.runs),
            ),
        ),
    )


def overdue_fact(overdue: OverduePlays | None) -> Fact | None:
    """A digest's line on playbook plays past due; None when no run is open in its scope."""
    if overdue is None or not overdue.plays:
        return None
    owners = ", ".join(f"{name} {n}" for name, n in overdue.by_owner[:3])
    more = len(overdue.by_owner) - 3
    if more > 0:
        owners += f" and {count(more, 'other')}"
    return Fact(
        "Playbook plays overdue",
        f"{overdue.plays:,} in {count(overdue.runs, 'run')} of {overdue.open_runs:,} open "
        f"(up to {_late(overdue.most_days_late)}): {owners}",
    )


def late_play_reply(due: Due, run: RunView | None, config: Config, now: dt.datetime) -> Reply:
    """The reminder or escalation of a late play, as things stand now."""
    position = int(due.details.get("play", 0) or 0)
    play = run.play(position) if run is not None else None
    if run is None or play is None:
        return Reply(heading="This playbook run no longer exists", visibility=Visibility.CHANNEL)
    title = f"“{_short(play.title)}”"
    if due.kind == PLAY_REMINDER:
        heading = f"Play overdue: {title} — {run.account_name}"
        text = (
            f"Play {play.position} of “{run.playbook_name}”, due {play.due_day:%d %b}. "
            f"Not done {config.plays.escalate_after_overdue_days:g} days after its due day, "
            "it goes to the managers."
        )
    else:
        heading = f"Escalated: {title} — {run.account_name}"
        text = (
            f"Play {play.position} of “{run.playbook_name}” was due {play.due_day:%d %b}. "
            f"Owner: {run.owner or 'unassigned'}."
        )
    if play.status is PlayStatus.TODO:
        if run.status is not PlaybookRunStatus.OPEN:
            text = f"The run was {run.status.value}."
        elif play.overdue(now):
            text += f" Now {_late(days_late(play.due_at, now))}."
    else:
        text = f"Now {_status(play, now)}."
    return Reply(
        heading=heading,
        paragraphs=(text, why(run, config.revenue.currency)),
        actions=(
            open_action("Open checklist", run_command(run.id)),
            details_action(run.account_external_id),
        ),
        visibility=Visibility.CHANNEL,
    )


def playbook_message(due: Due, run: RunView | None, config: Config, now: dt.datetime) -> Reply:
    """The outbox message `due` about a run: its checklist, or a late play's reminder or
    escalation."""
    if due.kind in (PLAY_REMINDER, PLAY_ESCALATION):
        return late_play_reply(due, run, config, now)
    if run is None:
        return Reply(heading="This playbook run no longer exists", visibility=Visibility.CHANNEL)
    return run_reply(run, now, currency=config.revenue.currency, visibility=Visibility.CHANNEL)
