"""A playbook run's checklist end to end: posted to its owner in Slack, worked through signed
Slack clicks and their Done and Skip modals, a Teams invoke, and the playground's click route.

One service (aiohttp, slack-bolt, botbuilder's adapter, the playground and the dispatcher,
as `serve` runs them) on a small book made by hand: Dana (a CSM known in Slack) owns Acme
Corp; Ines (a manager known in Teams) may work Dana's runs too.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.bootstrap import build
from adapters.settings import Settings
from metrics_core.config import Play, Playbook, Trigger
from metrics_core.playbooks.runs import start_run
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import PlaybookRun, PlaybookRunStatus, PlayStatus, TeamRole
from tests import factories
from tests.e2e import teams_activities as teams
from tests.e2e.loop_service import button, button_labels, text_of
from tests.e2e.slack_requests import SECRET, click, post, submit_form
from tests.e2e.teams_service import serving
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlack

INES = "00000000-0000-4000-8000-000000000009"
RED = Playbook(
    key="red-health",
    name="Health turned red",
    trigger=Trigger(kind="health_red"),
    plays=[Play(title=f"Step {n}", due_days=n) for n in range(1, 5)],
)


def _book(path: Path) -> int:
    """Dana, Ines and Acme Corp, and a run of `RED` started for Acme; the run's id."""
    database = Database(make_engine(f"sqlite:///{path}"))
    try:
        with database.writing() as session:
            dana = factories.team_member(
                session, "dana@closeloop.example", name="Dana Whitfield", slack_user_id="U0CSM1"
            )
            factories.team_member(
                session,
                "ines@closeloop.example",
                name="Ines Manager",
                role=TeamRole.MANAGER,
                teams_aad_object_id=INES,
            )
            acme = factories.account(session, owner=dana)
            run_id = start_run(
                session,
                playbook=RED,
                account_id=acme.id,
                owner_id=dana.id,
                details={"score": 34.0, "red_since": "2026-11-20"},
                health=34.0,
                now=factories.utc(2026, 11, 20),
                fallback=None,
            )
        assert run_id is not None
        return run_id
    finally:
        database.close()


@pytest.fixture
async def running(
    tmp_path: Path, _sqlite_template: Path, slack: FakeSlack, connector: FakeBotConnector
) -> AsyncIterator[tuple[str, int, Database]]:
    path = tmp_path / "closeloop.db"
    shutil.copyfile(_sqlite_template, path)
    run_id = _book(path)
    settings = Settings(
        DATABASE_URL=f"sqlite:///{path}",
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url,
        CLOSELOOP_TEAMS_INSECURE_DEV=True,
        CLOSELOOP_PLAYGROUND=True,
    )  # type: ignore[call-arg]
    container = build(settings)
    async with serving(container) as base:
        yield base, run_id, container.db


def _statuses(db: Database, run_id: int) -> tuple[PlaybookRunStatus, list[PlayStatus]]:
    with db.reading() as session:
        run = session.get_one(PlaybookRun, run_id)
        return run.status, [play.status for play in run.plays]


async def _shown(slack: FakeSlack, text: str, within: float = 10.0) -> dict[str, Any]:
    """Dana's DM, once the dispatcher has edited the checklist to show `text`."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        (message,) = slack.messages("U0CSM1")  # one message, edited in place
        if text in text_of(message):
            return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{text!r} not shown in the checklist: {text_of(message)}")
        await asyncio.sleep(0.02)


async def test_the_checklist_is_worked_from_slack_teams_and_the_playground(
    running: tuple[str, int, Database], slack: FakeSlack, connector: FakeBotConnector
) -> None:
    base, run_id, db = running
    events = f"{base}/slack/events"

    # Posted to the owner's DMs, with a button for each of the first plays.
    (posted,) = await slack.wait_for("chat.postMessage")
    assert posted.body["channel"] == "U0CSM1"
    checklist = await _shown(slack, "Playbook: Health turned red — Acme Corp")
    assert button_labels(checklist)[:3] == ["Done #1", "Skip #1", "Done #2"]

    # Done #1 on that message asks an optional note in a modal; sent empty, it marks the
    # play done, tells Dana alone, and the message is edited in place.
    done = button(checklist, "Done #1")
    status, _, _ = await post(
        events,
        click(
            "closeloop.play_done",
            json.loads(done["value"]),
            slack.response_url("d"),
            ephemeral=False,
        ),
    )
    assert status == 200
    (opened,) = await slack.wait_for("views.open")
    view = opened.body["view"]
    (block,) = [b for b in view["blocks"] if b.get("type") == "input"]
    assert block["block_id"] == "done_note_1" and block["optional"] is True
    empty = {"done_note_1": {"done_note_1": {"type": "plain_text_input", "value": None}}}
    assert (await post(events, submit_form(view, empty, "U0CSM1")))[0] == 200
    (told,) = await slack.wait_for("chat.postEphemeral")
    assert "marked play 1 done" in json.dumps(told.body)
    checklist = await _shown(slack, "by Dana Whitfield")
    assert "Done #1" not in button_labels(checklist)
    assert _statuses(db, run_id)[1][0] is PlayStatus.DONE

    # Skip #2 asks why in a modal; the answer skips it and edits the message again.
    skip = button(checklist, "Skip #2")
    await post(
        events,
        click(
            "closeloop.play_skip",
            json.loads(skip["value"]),
            slack.response_url("s"),
            ephemeral=False,
        ),
    )
    opened = (await slack.wait_for("views.open", 2))[1]
    view = opened.body["view"]
    note = {"type": "plain_text_input", "value": "Covered in the QBR"}
    values = {"skip_note_2": {"skip_note_2": note}}
    assert (await post(events, submit_form(view, values, "U0CSM1")))[0] == 200
    told = (await slack.wait_for("chat.postEphemeral", 2))[1]
    assert "marked play 2 skipped" in json.dumps(told.body)
    checklist = await _shown(slack, "Covered in the QBR")

    # Ines, a manager, presses Done #3 in Teams with a note in the card's form: the card
    # comes back with the change and the note, kept on the play.
    activity = teams.invoke(
        "closeloop.play_done",
        {"run": str(run_id), "play": "3", "done_note_3": "Exec sponsor call held"},
        service_url=connector.service_url,
        user=INES,
    )
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{base}/api/messages", json=activity) as response,
    ):
        assert response.status == 200
        invoked = await response.json()
    assert invoked["statusCode"] == 200 and invoked["type"] == teams.CARD
    card = invoked["value"]
    assert teams.heading(card) == "Playbook: Health turned red — Acme Corp"
    assert "by Ines Manager" in teams.text_of(card)
    assert "Exec sponsor call held" in teams.text_of(card)
    assert [b["title"] for b in teams.buttons(card)][:2] == ["Done #4", "Skip #4"]

    # In the playground, Drop run with its note: the answer takes the clicked card's place.
    async with (
        aiohttp.ClientSession() as client,
        client.post(
            f"{base}/playground/api/click",
            json={
                "action_id": "closeloop.run_drop",
                "payload": {"run": str(run_id), "drop_note": "Merged into the renewal plan"},
                "user": "U0CSM1",
                "clicked_on": "private",
            },
        ) as response,
    ):
        assert response.status == 200
        dropped = await response.json()
    assert dropped["delivery"] == "replace"
    assert "Dropped" in dropped["html"] and "Merged into the renewal plan" in dropped["html"]

    assert _statuses(db, run_id) == (
        PlaybookRunStatus.DROPPED,
        [PlayStatus.DONE, PlayStatus.SKIPPED, PlayStatus.DONE, PlayStatus.TODO],
    )
    with db.reading() as session:
        notes = [play.note for play in session.get_one(PlaybookRun, run_id).plays]
    assert notes == [None, "Covered in the QBR", "Exec sponsor call held", None]
    checklist = await _shown(slack, "(dropped)")  # Teams' and the playground's changes too
    assert "by Ines Manager" in text_of(checklist)
    assert "Exec sponsor call held" in text_of(checklist)
    assert button_labels(checklist) == ["Account details"]
    assert len(slack.of("chat.postMessage")) == 1  # edited, never posted again
