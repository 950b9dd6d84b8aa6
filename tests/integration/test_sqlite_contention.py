"""SQLite with twenty writers at once: everyone waits their turn, nobody is told
"database is locked".

Twelve writers go through the service on loopback as its users do (eight survey tools
delivering answers and re-deliveries, four CSMs pressing Claim in Slack); eight more are
threads in two other processes, each with its own engine, calling what the webhook, the
buttons and `closeloop import usage` call (`tests/integration/sqlite_writers.py`). The
service's dispatcher writes too, as it posts the alerts.

The suite runs this for a few seconds; `CLOSELOOP_CONTENTION_SECONDS=30` runs it for as
long as one may want to watch it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.bootstrap import build
from adapters.settings import Settings
from metrics_core.store import migrate
from metrics_core.store.db import Database, make_engine
from metrics_core.store.models import FollowUp, FollowUpStatus
from metrics_core.synthetic import seed_database
from tests import webhook_signing as vendors
from tests.e2e.loop_service import TODAY, deliver, generic, settings_env
from tests.e2e.slack_requests import click, post
from tests.e2e.teams_service import serving
from tests.fakes.slack_api import FakeSlack

SECONDS = float(os.environ.get("CLOSELOOP_CONTENTION_SECONDS", "4"))
ROOT = Path(__file__).resolve().parents[2]
CSMS = [f"U0CSM{i}" for i in range(1, 9)]
# What a CSM who pressed Claim may be told; anything else is an error reaching them.
CLAIM_ANSWERS = ("Done: claimed", "Already claimed by", "It is already yours", "Already closed")


@pytest.fixture
async def slack() -> Any:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "closeloop.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=40, days=30, seed=7, as_of=TODAY)
    engine.dispose()
    return path


def start_writers(url: str, *kinds: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sqlite_writers", url, str(SECONDS), *kinds],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def until_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line == "ready", line or process.communicate()[1]


async def survey_tool(webhook: str, name: str, deadline: float, statuses: list[int]) -> None:
    """Delivers answers one after another, now and then one again with a later comment."""
    rng = random.Random(name)
    n = 0
    while time.monotonic() < deadline:
        rid = f"{name}-{rng.randint(0, n)}" if n and rng.random() < 0.25 else f"{name}-{n}"
        body = vendors.generic_payload(
            response_id=rid, score=rng.randint(0, 10), comment=f"Said at {n}"
        )
        status, _ = await deliver(webhook, body, generic(body, f"msg_{name}_{n}"))
        statuses.append(status)
        n += 1


async def csm(
    events: str, slack: FakeSlack, db: Database, user: str, deadline: float, clicks: list[str]
) -> None:
    """Presses Claim on a follow-up still open, reads the answer, and goes on to the next."""
    rng = random.Random(user)
    n = 0
    while time.monotonic() < deadline:
        with db.reading() as session:
            open_ones = list(
                session.scalars(
                    select(FollowUp.id)
                    .where(FollowUp.status == FollowUpStatus.OPEN)
                    .order_by(FollowUp.id.desc())
                    .limit(20)
                )
            )
        if not open_ones:
            await asyncio.sleep(0.05)
            continue
        token = f"{user}.{n}"
        payload = {"follow_up": str(rng.choice(open_ones))}
        status, _, _ = await post(
            events, click("closeloop.claim", payload, slack.response_url(token), user)
        )
        assert status == 200
        clicks.append(token)
        await slack.answer_to(token, within=SECONDS + 30)
        n += 1


async def test_twenty_sqlite_writers_for_a_while_and_nobody_is_told_the_database_is_locked(
    database: Path, slack: FakeSlack
) -> None:
    url = f"sqlite:///{database}"
    others = [
        start_writers(url, "intake=2", "claim=2"),
        start_writers(url, "claim=2", "import=2"),
    ]
    for process in others:
        until_ready(process)
    container = build(Settings(**settings_env(database, slack)))  # type: ignore[arg-type]
    reader = Database(make_engine(url))
    statuses: list[int] = []
    clicks: list[str] = []
    try:
        async with serving(container) as base:
            for process in others:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.flush()
            deadline = time.monotonic() + SECONDS
            webhook = f"{base}/webhooks/surveys/generic"
            await asyncio.gather(
                *(survey_tool(webhook, f"tool{i}", deadline, statuses) for i in range(8)),
                *(
                    csm(f"{base}/slack/events", slack, reader, u, deadline, clicks)
                    for u in CSMS[:4]
                ),
            )
            await slack.wait_for("respond", len(clicks), within=SECONDS + 30)
        results = [
            json.loads(line)
            for process in others
            for line in process.communicate(timeout=SECONDS + 60)[0].splitlines()
        ]
    finally:
        reader.close()
        for process in others:
            if process.poll() is None:
                process.kill()

    # Every survey delivery was stored (a 503 is the database refusing it).
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    # Every CSM who pressed Claim was told who has it, never about the database.
    answers = [call.body["text"] for call in slack.of("respond")]
    assert len(answers) == len(clicks)
    assert [a for a in answers if not a.startswith(CLAIM_ANSWERS)] == []
    assert any(a.startswith("Done: claimed") for a in answers)
    # The other processes' writers all wrote, and none of them met an error.
    assert sorted(r["kind"] for r in results) == ["claim"] * 4 + ["import"] * 2 + ["intake"] * 2
    assert [(r["writer"], r["errors"]) for r in results if r["errors"]] == []
    assert all(r["done"] > 0 for r in results), [(r["writer"], r["done"]) for r in results]
