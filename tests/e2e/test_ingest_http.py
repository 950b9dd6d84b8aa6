"""`POST /ingest/usage` on `closeloop serve`, as a product analytics tool reaches it.

The service runs as an operator runs it (its own process, the token in its environment,
logging at DEBUG) on the demo data set, which has Acme Corp (`ACME`, acme.example). The
sender is refused without the token or with another one, told which call of a batch is
wrong, and told what became of its events once they are stored; a redelivery is a
duplicate. The token never shows in what the service logs.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from tests.e2e.served import Served

TOKEN = "ingest-" + secrets.token_hex(16)


def _calls(stamp: str) -> list[dict[str, Any]]:
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).replace(hour=10, minute=0)
    when = yesterday.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {"type": "group", "messageId": f"{stamp}-g", "userId": f"{stamp}-ann", "groupId": "ACME"},
        {
            "type": "identify",
            "messageId": f"{stamp}-i",
            "userId": f"{stamp}-bob",
            "traits": {"email": f"{stamp}-bob@acme.example"},
        },
        {
            "type": "track",
            "messageId": f"{stamp}-t1",
            "userId": f"{stamp}-ann",
            "event": "E2E Report Exported",
            "timestamp": when,
        },
        {
            "type": "track",
            "messageId": f"{stamp}-t2",
            "userId": f"{stamp}-bob",
            "event": "Clicked",
            "properties": {"feature": "E2E Dashboards"},
            "timestamp": when,
        },
        {
            "type": "track",
            "messageId": f"{stamp}-t3",
            "userId": f"{stamp}-stranger",
            "event": "E2E Report Exported",
            "timestamp": when,
        },
    ]


def _acme_yesterday(database: Path) -> tuple[int, int, dict[str, int]]:
    """Acme's usage yesterday (UTC): active users, events, feature counts."""
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT u.active_users, u.events, u.feature_counts FROM usage_daily u "
            "JOIN accounts a ON a.id = u.account_id WHERE a.external_id = 'ACME' AND u.day = ?",
            (yesterday,),
        ).fetchone()
    return (0, 0, {}) if row is None else (row[0], row[1], json.loads(row[2]))


async def _post(
    client: aiohttp.ClientSession, url: str, body: object, headers: dict[str, str]
) -> tuple[int, dict[str, Any], CIMultiDictProxy[str]]:
    """The status, the JSON answer ({} when the answer is not JSON) and the headers."""
    async with client.post(url, data=json.dumps(body), headers=headers) as response:
        text = await response.text()
        is_json = response.content_type == "application/json"
        return response.status, json.loads(text) if is_json else {}, response.headers


async def test_a_sender_is_checked_told_what_is_wrong_and_counted_once(
    database_file: Path, processes: list[Served]
) -> None:
    served = Served(
        {
            "DATABASE_URL": f"sqlite:///{database_file}",
            "CLOSELOOP_INGEST_TOKEN": TOKEN,
            "CLOSELOOP_LOG_LEVEL": "DEBUG",
        }
    )
    processes.append(served)
    await served.ready()
    url = f"{served.base}/ingest/usage"
    calls = _calls("e2e")
    signed = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    before = _acme_yesterday(database_file)

    async with aiohttp.ClientSession() as client:
        status, answer, headers = await _post(client, url, {"batch": calls}, {})
        assert status == 401 and "Bearer" in answer["error"]
        assert headers["WWW-Authenticate"].startswith("Bearer")
        forged = {**signed, "Authorization": f"Bearer {TOKEN[:-1]}x"}
        status, answer, headers = await _post(client, url, {"batch": calls}, forged)
        assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]

        broken = [*calls[:3], {**calls[3], "timestamp": "yesterday at ten"}, calls[4]]
        status, answer, _ = await _post(client, url, {"batch": broken}, signed)
        assert status == 400
        assert answer["error"].startswith("body: field 'batch[3].timestamp': ")
        assert _acme_yesterday(database_file) == before  # nothing of the batch was stored

        status, answer, _ = await _post(client, url, {"batch": calls}, signed)
        assert (status, answer) == (
            200,
            {
                "received": 5,
                "accepted": 5,
                "duplicates": 0,
                "unmatched": 1,
                "late": 0,
                "ignored": 0,
            },
        )
        status, answer, _ = await _post(client, url, {"batch": calls}, signed)
        assert (status, answer["accepted"], answer["duplicates"]) == (200, 0, 5)

    users, events, features = _acme_yesterday(database_file)
    assert (users, events) == (before[0] + 2, before[1] + 2)
    assert features["e2e_report_exported"] == before[2].get("e2e_report_exported", 0) + 1
    assert features["e2e_dashboards"] == before[2].get("e2e_dashboards", 0) + 1
    assert TOKEN not in served.log()


async def test_without_a_token_the_route_does_not_exist(
    database_file: Path, processes: list[Served]
) -> None:
    served = Served({"DATABASE_URL": f"sqlite:///{database_file}", "CLOSELOOP_INGEST_TOKEN": " "})
    processes.append(served)
    await served.ready()
    async with aiohttp.ClientSession() as client:
        headers = {"Authorization": "Bearer  ", "Content-Type": "application/json"}
        status, _, _ = await _post(client, f"{served.base}/ingest/usage", {"batch": []}, headers)
    assert status == 404
