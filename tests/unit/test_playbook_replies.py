"""Playbooks without a database: the starter playbooks as documented, due days, what a run's
messages say, `/playbooks` on a fake reader, and the checklist's buttons through the click
protocol. The queries run on real databases in tests/integration/test_playbook_runs.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from adapters.platforms.slack.render import render_message
from adapters.platforms.teams.render import render_card
from bot.actions import OPEN, PICK, PLAY_DONE, PLAY_SKIP, RUN_DROP
from bot.clicks import Answer, Delivery, ShowForm
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.messages.alerts import alert_reply
from bot.messages.digest import build_digest
from bot.messages.home import home
from bot.messages.playbooks import PLAY_BUTTONS, run_reply, why
from bot.reply import Outcome, Reply, Visibility
from bot.router import Router
from metrics_core.accounts.lookup import AccountRef, Resolution
from metrics_core.accounts.team import Member, member_by_chat_id
from metrics_core.config import Config, Play, Playbook, Trigger
from metrics_core.delivery.alert_facts import AlertFacts
from metrics_core.delivery.outbox import Due
from metrics_core.delivery.targets import Target
from metrics_core.health.portfolio import Book, book
from metrics_core.playbooks import runs
from metrics_core.playbooks.effectiveness import PlaybookStats, playbook_effectiveness
from metrics_core.playbooks.overdue import OverduePlays
from metrics_core.playbooks.runs import (
    PlayView,
    RunChange,
    RunList,
    RunView,
    account_runs,
    days_late,
    due_at,
    mark_play,
    open_runs,
    run_view,
)
from metrics_core.playbooks.starter import starter_playbooks, with_starter_playbooks
from metrics_core.store.models import (
    LifecycleStage,
    PlaybookRunStatus,
    PlayStatus,
    Segment,
    TeamRole,
)
from tests.fakes.reader import FakeReader
from tests.routing import offline_context
from tests.slack_blocks import message_errors

EXAMPLE = Path(__file__).parents[2] / "closeloop.example.toml"
TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)  # offline_context's "now"
STARTED = dt.datetime(2026, 11, 20, 0, 20, tzinfo=dt.UTC)
DANA = Member(7, "Dana Whitfield", TeamRole.CSM)
BOSS = Member(9, "Ines Boss", TeamRole.MANAGER)
ME = Actor(Platform.SLACK, user_id="U0CSM1", display_name="dana")


# --- the starter playbooks, as documented ----------------------------------------------


def test_the_example_file_documents_the_starter_playbooks() -> None:
    """The [[playbooks]] of closeloop.example.toml are commented out (a file that lists
    none runs none); uncommented, they are exactly the packaged starter playbooks."""
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text[text.index("# [[playbooks]]") :]
    uncommented = "\n".join(line.removeprefix("#").removeprefix(" ") for line in block.splitlines())
    documented = Config.model_validate(tomllib.loads(uncommented)).playbooks
    starter = starter_playbooks()
    assert documented == starter
    assert {p.trigger.kind for p in starter} == {
        "health_red",
        "usage_drop",
        "detractor",
        "promoter",
        "renewal_risk",
        "no_touchpoint",
        "onboarding_stalled",
    }


def test_only_a_configuration_without_playbooks_gets_the_starter_ones() -> None:
    assert with_starter_playbooks(Config()).playbooks == starter_playbooks()
    own = Playbook(
        key="mine", name="Mine", trigger=Trigger(kind="health_red"), plays=[Play(title="Call")]
    )
    assert with_starter_playbooks(Config(playbooks=[own])).playbooks == [own]


def test_a_play_is_due_by_the_end_of_its_due_day() -> None:
    due = due_at(STARTED, 2)
    assert due == dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    assert runs.due_day(due) == dt.date(2026, 11, 22)
    assert days_late(due, dt.datetime(2026, 11, 22, 23, 59, tzinfo=dt.UTC)) == 0
    assert days_late(due, dt.datetime(2026, 11, 23, 0, 1, tzinfo=dt.UTC)) == 1
    assert days_late(due, NOW) == 3


# --- what a run says -------------------------------------------------------------------


def play(position: int, due_days: int, status: PlayStatus = PlayStatus.TODO, **kw: Any) -> PlayView:
    return PlayView(
        position=position,
        title=kw.get("title", f"Play {position}"),
        due_at=due_at(STARTED, due_days),
        status=status,
        done_at=kw.get("done_at"),
        done_by=kw.get("done_by"),
        note=kw.get("note"),
    )


def view(trigger: str = "health_red", details: dict[str, Any] | None = None, **kw: Any) -> RunView:
    return RunView(
        id=12,
        playbook="red-health",
        playbook_name="Health turned red",
        trigger=trigger,
        details=details if details is not None else {"score": 34.0, "red_since": "2026-11-20"},
        account_id=1,
        account_name="Acme Corp",
        account_external_id="ACME",
        owner_id=DANA.id,
        owner=DANA.name,
        status=kw.get("status", PlaybookRunStatus.OPEN),
        triggered_at=STARTED,
        health_at_start=34.0,
        closed_at=kw.get("closed_at"),
        closed_by=kw.get("closed_by"),
        note=kw.get("note"),
        plays=kw.get(
            "plays",
            (
                play(1, 2, PlayStatus.DONE, done_at=STARTED, done_by="Dana Whitfield"),
                play(2, 3),  # overdue since 24 Nov
                play(3, 10),
                play(4, 12),
                play(5, 30),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("trigger", "details", "says"),
    [
        (
            "health_red",
            {
                "score": 34.0,
                "red_since": "2026-11-20",
                "before": {"day": "2026-11-19", "score": 45.0, "band": "yellow"},
            },
            ("34/100", "red since 2026-11-20", "45, yellow, on 2026-11-19"),
        ),
        (
            "usage_drop",
            {"drop": 0.42, "threshold": 0.3, "recent_days": 7, "baseline_weeks": 4},
            ("last 7 days", "42 %", "4 weeks", "30 %"),
        ),
        (
            "detractor",
            {
                "survey": "nps",
                "score": 3,
                "respondent": "Jane Doe",
                "submitted_at": "2026-11-20T09:30:00+00:00",
                "comment": "Exports fail",
            },
            ("NPS 3", "Jane Doe", "2026-11-20", "“Exports fail”"),
        ),
        (
            "renewal_risk",
            {
                "renewal_date": "2027-01-15",
                "arr": 120000.0,
                "probability": 0.45,
                "driver": "usage",
                "min_risk": 0.3,
                "within_days": 90,
            },
            ("2027-01-15", "$120k", "45 %", "30 %", "90 days", "usage"),
        ),
        (
            "no_touchpoint",
            {"days": 52, "limit": 45, "last_touch": "2026-09-29", "customer_since": "2024-01-01"},
            ("52 days", "2026-09-29", "45"),
        ),
        (
            "no_touchpoint",
            {"days": 80, "limit": 45, "last_touch": None, "customer_since": "2026-09-01"},
            ("80 days", "none recorded since it became a customer on 2026-09-01"),
        ),
        (
            "onboarding_stalled",
            {"created_on": "2026-09-01", "days": 85, "limit": 60},
            ("85 days", "2026-09-01", "60"),
        ),
    ],
)  # fmt: skip
def test_a_run_says_why_it_started_with_what_its_trigger_saw(
    trigger: str, details: dict[str, Any], says: tuple[str, ...]
) -> None:
    sentence = why(view(trigger, details))
    for part in says:
        assert part in sentence, sentence


def test_a_run_with_what_its_trigger_saw_missing_still_reads() -> None:
    for trigger in ("health_red", "usage_drop", "detractor", "renewal_risk", "no_touchpoint"):
        assert why(view(trigger, {})).strip()


def _labels(reply: Reply) -> list[str]:
    return [action.label for action in reply.actions]


def test_the_checklist_shows_each_play_and_offers_buttons_for_those_due_first() -> None:
    reply = run_reply(view(), NOW)
    assert reply.heading == "Playbook: Health turned red — Acme Corp"
    (table,) = reply.tables
    assert [row[3] for row in table.rows] == [
        "done 20 Nov by Dana Whitfield",
        "overdue, 2 days late",  # due by the end of 23 Nov, now 25 Nov
        "to do",
        "to do",
        "to do",
    ]
    assert [m.value for m in reply.metrics] == ["1 play"]  # overdue
    assert _labels(reply) == [
        "Done #2",
        "Skip #2",
        "Done #3",
        "Skip #3",
        "Done #4",
        "Skip #4",
        "Drop run",
        "Account details",
    ]
    assert PLAY_BUTTONS == 3 and any("plays due first" in note for note in reply.notes)
    skip = next(a for a in reply.actions if a.action_id == PLAY_SKIP)
    assert dict(skip.payload) == {"run": "12", "play": "2"} and skip.form is not None
    done = next(a for a in reply.actions if a.action_id == PLAY_DONE)
    assert dict(done.payload) == {"run": "12", "play": "2"} and done.form is not None
    (note,) = done.form.fields
    assert (note.name, note.optional) == ("done_note_2", True)


def test_a_finished_run_has_no_buttons_left_but_the_account() -> None:
    dropped = view(
        status=PlaybookRunStatus.DROPPED, closed_at=NOW, closed_by="Ines Boss", note="merged"
    )
    reply = run_reply(dropped, NOW)
    assert reply.heading.endswith("(dropped)")
    assert "Dropped on 25 Nov 2026 by Ines Boss: merged" in reply.paragraphs
    assert _labels(reply) == ["Account details"]
    assert reply.metrics == ()  # nothing is overdue in a run that is over


def test_the_longest_checklist_fits_slack_and_teams() -> None:
    plays = tuple(play(n, n, title=f"Step {n}: " + "x" * 180) for n in range(1, 21))
    reply = run_reply(view(plays=plays), NOW, visibility=Visibility.CHANNEL)
    rendered = render_message(reply)
    assert message_errors(rendered.blocks) == []
    card = json.dumps(render_card(reply))
    assert len(card) < 70_000
    # Teams shows every button's form on the card: no two inputs may share a name.
    inputs = re.findall(r'"type": "Input\.\w+"[^{}]*?"id": "([^"]+)"', card)
    assert sorted(inputs) == [
        "done_note_1",
        "done_note_2",
        "done_note_3",
        "drop_note",
        "skip_note_1",
        "skip_note_2",
        "skip_note_3",
    ]


# --- `/playbooks` ----------------------------------------------------------------------


def _listed(*views: RunView, overdue: int = 1) -> RunList:
    return RunList(views, len(views), overdue)


async def _ask(reader: FakeReader, text: str, config: Config | None = None) -> Reply:
    context = offline_context(reader, config or Config(playbooks=starter_playbooks()), today=TODAY)
    return await Router(context).handle(CommandRequest.parse(text, ME))


async def test_playbooks_alone_lists_the_askers_open_runs() -> None:
    reader = FakeReader({member_by_chat_id: DANA, open_runs: _listed(view())})
    reply = await _ask(reader, "playbooks")
    (table,) = reply.tables
    (row,) = table.rows
    assert row == (
        "#12",
        "Acme Corp",
        "Health turned red",
        "20 Nov",
        "1 of 5 done",
        "#2 Play 2",
        "2 days late",
    )
    assert [(m.label, m.value) for m in reply.metrics] == [
        ("Open runs", "1"),
        ("Overdue plays", "1"),
    ]
    (opener,) = [a for a in reply.actions if a.action_id == OPEN]
    assert dict(opener.payload) == {"command": "playbooks run 12"}
    assert reader.queries() == [member_by_chat_id, open_runs]
    assert reader.asked[1].arguments["owner_id"] == DANA.id


async def test_everyones_runs_are_for_managers() -> None:
    reader = FakeReader({member_by_chat_id: DANA})
    refused = await _ask(reader, "playbooks all")
    assert refused.outcome is Outcome.PROBLEM and "managers" in refused.heading
    reader = FakeReader({member_by_chat_id: BOSS, open_runs: _listed(view())})
    listed = await _ask(reader, "playbooks all")
    assert listed.tables[0].columns[3] == "Owner"
    assert "owner_id" not in reader.asked[1].arguments


async def test_with_no_playbook_configured_an_empty_list_says_why() -> None:
    reader = FakeReader({member_by_chat_id: DANA, open_runs: RunList((), 0, 0)})
    reply = await _ask(reader, "playbooks mine", Config())
    assert reply.paragraphs == ("No open playbook runs.",)
    assert any("No playbook is configured" in note for note in reply.notes)


@pytest.mark.parametrize("text", ["playbooks run", "playbooks run twelve", "playbooks mine all"])
async def test_words_it_does_not_understand_get_the_usage(text: str) -> None:
    reply = await _ask(FakeReader(), text)
    assert reply.outcome is Outcome.PROBLEM
    assert (
        "`playbooks [mine | all | stats [playbook] [segment] | run <number> | <account>]`"
        in (reply.paragraphs[0])
    )


async def test_stats_is_answered_by_the_playbook_stats() -> None:
    stats = PlaybookStats(TODAY, Segment.SMB, "usage-drop", (), (("usage-drop", "Usage"),), TODAY)
    reader = FakeReader({playbook_effectiveness: stats})
    await _ask(reader, "playbooks stats usage-drop smb")
    (asked,) = reader.asked
    assert asked.query is playbook_effectiveness
    assert (asked.arguments["playbook"], asked.arguments["segment"]) == ("usage-drop", Segment.SMB)


async def test_one_run_by_its_number() -> None:
    reader = FakeReader({run_view: lambda run_id: view() if run_id == 12 else None})
    shown = await _ask(reader, "playbooks run #12")
    assert shown.heading == "Playbook: Health turned red — Acme Corp"
    missing = await _ask(reader, "playbooks run 99")
    assert (missing.heading, missing.outcome) == ("There is no playbook run #99", Outcome.PROBLEM)


def _ref(external_id: str, name: str) -> AccountRef:
    return AccountRef(1, external_id, name, None, Segment.SMB, 10, LifecycleStage.MATURE, None)


async def test_an_account_lists_its_runs_or_asks_which_account() -> None:
    acme = _ref("ACME", "Acme Corp")
    finished = view(status=PlaybookRunStatus.COMPLETED, closed_at=NOW)
    reader = FakeReader(
        {account_runs: runs.AccountRuns(Resolution(acme), (view(),), (finished,), 3)}
    )
    reply = await _ask(reader, "playbooks acme")
    assert reply.heading == "Playbooks — Acme Corp"
    assert [t.title for t in reply.tables] == ["Open", "Finished, newest first (3)"]
    assert reader.asked[0].arguments["text"] == "acme"

    two = Resolution(None, (_ref("GLX-1", "Globex Industries"), _ref("GLX-2", "Globex Retail")), 2)
    reply = await _ask(FakeReader({account_runs: runs.AccountRuns(two)}), "playbooks globex")
    picks = [a for a in reply.actions if a.action_id == PICK]
    assert dict(picks[0].payload) == {"command": "playbooks", "account": "GLX-1"}


# --- the checklist's buttons -----------------------------------------------------------


def _press(action_id: str, clicked_on: Visibility | None, **payload: str) -> ActionRequest:
    return ActionRequest(action_id, {"run": "12", **payload}, ME, clicked_on=clicked_on)


def _done_reader(change: RunChange) -> FakeReader:
    return FakeReader({member_by_chat_id: DANA, mark_play: change, runs.drop_run: change})


async def test_done_asks_an_optional_note_and_marks_the_play_without_one() -> None:
    after = view(
        plays=(play(1, 2, PlayStatus.DONE, done_at=NOW, done_by="Dana Whitfield"), play(2, 3))
    )
    reader = _done_reader(RunChange(runs.Outcome.DONE, after))
    router = Router(offline_context(reader, today=TODAY))
    # A bare press (Slack's button, the playground's) asks the note first, writing nothing.
    asked = await router.click(_press(PLAY_DONE, Visibility.PRIVATE, play="1"))
    assert isinstance(asked, ShowForm)
    (field,) = asked.form.fields
    assert (field.name, field.optional) == ("done_note_1", True)
    assert reader.asked == []
    # Its form sent back empty (a Teams card's inputs come with the press) marks the play.
    pressed = await router.click(_press(PLAY_DONE, Visibility.PRIVATE, play="1", done_note_1=""))
    assert isinstance(pressed, Answer) and pressed.delivery is Delivery.REPLACE
    assert pressed.reply.paragraphs[0] == "You marked play 1 done."
    assert pressed.reply.tables[0].rows[0][3] == "done 25 Nov by Dana Whitfield"
    marked = reader.asked[1]
    assert marked.query is mark_play
    assert (marked.arguments["run_id"], marked.arguments["position"]) == (12, 1)
    assert (marked.arguments["member"], marked.arguments["status"]) == (DANA, PlayStatus.DONE)
    assert not marked.arguments["note"]


async def test_a_done_note_is_passed_on_and_shown_in_the_checklist() -> None:
    noted = play(1, 2, PlayStatus.DONE, done_at=NOW, done_by="Dana Whitfield", note="Called Jane")
    reader = _done_reader(RunChange(runs.Outcome.DONE, view(plays=(noted, play(2, 3)))))
    router = Router(offline_context(reader, today=TODAY))
    answered = await router.submit(_press(PLAY_DONE, None, play="1", done_note_1="Called Jane"))
    assert reader.asked[1].arguments["note"] == "Called Jane"
    (table,) = answered.reply.tables
    assert table.columns[-1] == "Note"
    assert [row[-1] for row in table.rows] == ["Called Jane", "—"]


async def test_done_on_the_owners_message_answers_with_a_line() -> None:
    reader = _done_reader(RunChange(runs.Outcome.DONE, view()))
    router = Router(offline_context(reader, today=TODAY))
    pressed = await router.click(
        _press(PLAY_DONE, Visibility.CHANNEL, play="2", done_note_2="Called Jane")
    )
    assert isinstance(pressed, Answer) and pressed.delivery is Delivery.NOTICE
    assert reader.asked[1].arguments["note"] == "Called Jane"
    assert pressed.reply.heading == "Done: you marked play 2 done."


async def test_a_refusal_is_a_notice_naming_why() -> None:
    refused = RunChange(
        runs.Outcome.NOT_ALLOWED, view(), "only its owner or a manager can change it"
    )
    router = Router(offline_context(_done_reader(refused), today=TODAY))
    pressed = await router.click(_press(PLAY_DONE, Visibility.PRIVATE, play="2", done_note_2=""))
    assert isinstance(pressed, Answer) and pressed.delivery is Delivery.NOTICE
    assert pressed.reply.outcome is Outcome.PROBLEM
    assert pressed.reply.heading == (
        "Not yours to change: only its owner or a manager can change it (owner: Dana Whitfield)"
    )


async def test_skip_and_drop_ask_why_first_and_then_act() -> None:
    reader = _done_reader(RunChange(runs.Outcome.DONE, view()))
    router = Router(offline_context(reader, today=TODAY))
    for action_id in (PLAY_SKIP, RUN_DROP):
        asked = await router.click(_press(action_id, None, play="2"))
        assert isinstance(asked, ShowForm)
        (field,) = asked.form.fields
        assert field.name == ("drop_note" if action_id == RUN_DROP else "skip_note_2")
        assert not field.optional
    assert reader.asked == []  # nothing read or written before the note
    answered = await router.submit(_press(PLAY_SKIP, None, play="2", skip_note_2="Done on the QBR"))
    assert answered.reply.paragraphs[0] == "You marked play 2 skipped."
    assert reader.asked[1].arguments["note"] == "Done on the QBR"


async def test_only_the_cs_team_works_playbooks() -> None:
    reader = FakeReader({member_by_chat_id: None})
    pressed = await Router(offline_context(reader, today=TODAY)).click(
        _press(PLAY_DONE, Visibility.PRIVATE, play="1", done_note_1="")
    )
    assert isinstance(pressed, Answer)
    assert pressed.reply.heading == "Only the CS team can work playbooks"


# --- where runs show: the outbox, App Home, digests -------------------------------------


def _due(kind: str, **details: object) -> Due:
    return Due(
        1,
        "k",
        kind,
        Target("slack", "U0CSM1"),
        None,
        1,
        {"run": 12, **details},
        1,
        0,
        None,
        None,
        None,
    )


def test_the_owners_message_is_the_checklist_and_a_reminder_follows_the_play() -> None:
    config = Config()
    checklist = alert_reply(AlertFacts(_due(runs.RUN_MESSAGE), run=view()), config, NOW)
    assert checklist.visibility is Visibility.CHANNEL
    assert checklist.heading == "Playbook: Health turned red — Acme Corp"
    reminder = alert_reply(AlertFacts(_due(runs.PLAY_REMINDER, play=2), run=view()), config, NOW)
    assert reminder.heading == "Play overdue: “Play 2” — Acme Corp"
    assert "Now 2 days late." in reminder.paragraphs[0]
    assert reminder.actions[0].action_id == OPEN
    done = view(plays=(play(2, 3, PlayStatus.DONE, done_at=NOW, done_by="Dana Whitfield"),))
    escalated = alert_reply(AlertFacts(_due(runs.PLAY_ESCALATION, play=2), run=done), config, NOW)
    assert escalated.heading == "Escalated: “Play 2” — Acme Corp"
    assert escalated.paragraphs[0] == "Now done 25 Nov by Dana Whitfield."
    gone = alert_reply(AlertFacts(_due(runs.RUN_MESSAGE)), config, NOW)
    assert gone.heading == "This playbook run no longer exists"


async def test_app_home_ends_with_the_viewers_runs() -> None:
    held = Book(0, 0.0, None, 0, (), 0.5, (), 90, (), 0.0, ())
    reader = FakeReader({member_by_chat_id: DANA, book: held, open_runs: _listed(view())})
    *_, playbooks = await home(ME, offline_context(reader, today=TODAY))
    assert playbooks.heading == "Your playbook runs"
    assert playbooks.tables[0].rows == (
        ("Acme Corp", "Health turned red", "#2 Play 2", "2 days late"),
    )
    assert reader.asked[-1].arguments["owner_id"] == DANA.id


def test_a_digest_counts_overdue_plays_or_says_none_are() -> None:
    from tests.unit.test_digest_presenter import QUIET

    config = Config()
    late = OverduePlays(
        open_runs=9,
        plays=5,
        runs=3,
        by_owner=(("Dana Whitfield", 3), ("Marco", 2)),
        most_days_late=6,
    )
    reply = build_digest(
        dataclasses.replace(QUIET, overdue_plays=late), config=config, now=NOW
    ).reply
    facts = {fact.label: fact.value for fact in reply.facts}
    assert facts["Playbook plays overdue"] == (
        "5 in 3 runs of 9 open (up to 6 days late): Dana Whitfield 3, Marco 2"
    )
    none_late = dataclasses.replace(late, plays=0, runs=0, by_owner=(), most_days_late=0)
    reply = build_digest(
        dataclasses.replace(QUIET, overdue_plays=none_late), config=config, now=NOW
    ).reply
    assert "no playbook plays overdue" in reply.notes[0]
