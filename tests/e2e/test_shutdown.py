"""SIGTERM: the work under way finishes within the deadline; what cannot is left, whole,
for the next process.

`closeloop serve` runs as a real process (a deploy or a scale-down sends it SIGTERM); Slack
is the local fake, slowed down or stuck where the test needs work to be under way.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from sqlalchemy import select

from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import Delivery, DeliveryStatus
from tests import webhook_signing as vendors
from tests.e2e.loop_service import ALERTS, deliver, generic, settings_env
from tests.e2e.served import Served
from tests.e2e.slack_requests import header, slash
from tests.fakes.slack_api import FakeSlack


async def terminate(served: Served, within: float) -> tuple[float, str]:
    """SIGTERM, then how long the process took to exit, and what it logged. The wait is
    off the event loop: the fake Slack runs on it and must keep answering meanwhile."""
    started = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(served.process.wait, timeout=within)
    return time.monotonic() - started, served.log()


async def test_sigterm_lets_the_answer_and_the_alert_under_way_finish(
    database_file: Path, slack: FakeSlack, processes: list[Served]
) -> None:
    env = {**settings_env(database_file, slack), "CLOSELOOP_SHUTDOWN_SECONDS": "10"}
    served = Served(env)
    processes.append(served)
    await served.ready()
    slack.delays["chat.postMessage"] = 1.0  # Slack is slow to confirm the alert
    slack.delays["users.info"] = 2.0  # and to tell /digest the user's time zone
    body = vendors.generic_payload(score=2, comment="Onboarding stalled")
    status, _ = await deliver(served.webhook, body, generic(body))
    assert status == 200
    events = f"http://127.0.0.1:{served.port}/slack/events"
    status, _, seconds = await slack.command(
        events, slash("/digest", "list", slack.response_url("d"))
    )
    assert status == 200 and seconds < 3  # acknowledged; the answer follows
    await slack.wait_for("chat.postMessage")
    await slack.wait_for("users.info")

    took, log = await terminate(served, within=15)

    assert served.process.returncode == 0, log
    assert took < 10, log  # finished when the work did, within the deadline
    (answer,) = slack.of("respond")
    assert answer.token == "d" and header(answer) and "went wrong" not in header(answer)
    assert len(slack.of("chat.postMessage")) == 1
    (alert,) = slack.messages(ALERTS)
    assert "Onboarding stalled" in str(alert["blocks"])
    db = Database(make_engine(env["DATABASE_URL"]))
    with db.reading() as session:
        (row,) = session.scalars(select(Delivery).where(Delivery.target == ALERTS)).all()
        assert row.status == DeliveryStatus.DELIVERED
        assert row.message_id in slack.channels[ALERTS]  # the post, recorded as such
    db.close()


async def test_what_the_deadline_cuts_off_is_sent_once_by_the_next_process(
    database_file: Path, slack: FakeSlack, processes: list[Served]
) -> None:
    """Slack took the post and never answered: the deadline ends the wait, and the next
    process finds that post and edits it rather than posting the alert twice."""
    env = {**settings_env(database_file, slack), "CLOSELOOP_SHUTDOWN_SECONDS": "1"}
    slack.hang_after_recording.add("chat.postMessage")
    first = Served(env)
    processes.append(first)
    await first.ready()
    body = vendors.generic_payload(score=1, comment="We are evaluating other tools")
    status, _ = await deliver(first.webhook, body, generic(body))
    assert status == 200
    await slack.wait_for("chat.postMessage")

    took, log = await terminate(first, within=15)

    assert first.process.returncode == 0, log
    assert took < 1 + 3, log  # the deadline, and the time to close the database and exit
    assert "interrupted by the shutdown" in log
    slack.hang_after_recording.clear()
    second = Served(env)
    processes.append(second)
    await second.ready()
    (update,) = await slack.wait_for("chat.update", within=20)
    assert update.body["channel"] == ALERTS
    assert len(slack.of("chat.postMessage")) == 1
    (alert,) = slack.messages(ALERTS)
    assert "We are evaluating other tools" in str(alert["blocks"])
