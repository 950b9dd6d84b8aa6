"""What an operator sees: JSON log lines with the request id that caused them, and /metrics.

The service runs as operators run it (`closeloop serve`, JSON logs); a survey answer sent
with a proxy's `X-Request-Id` must be findable by that id from the webhook to the alert
the dispatcher posts later, and /metrics must count what happened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.loop_service import ALERTS, generic, settings_env
from tests.e2e.served import Served
from tests.e2e.slack_requests import slash
from tests.fakes.slack_api import FakeSlack
from tests.webhook_signing import GENERIC_SECRET, generic_payload

REQUEST_ID = "proxy-7f3a9c"


def lines(log: str) -> Iterator[dict[str, Any]]:
    for line in log.splitlines():
        yield json.loads(line)  # every line is JSON: a collector parses all of them


@pytest.fixture
async def served(database_file: Path, slack: FakeSlack, processes: list[Served]) -> Served:
    env = {**settings_env(database_file, slack), "CLOSELOOP_LOG_FORMAT": "json"}
    running = Served(env)
    processes.append(running)
    await running.ready()
    return running


async def test_one_request_id_follows_a_survey_answer_to_its_alert(
    served: Served, slack: FakeSlack
) -> None:
    body = generic_payload(score=2, comment="Exports keep failing")
    headers = {**generic(body), "X-Request-Id": REQUEST_ID}
    async with aiohttp.ClientSession() as client:
        async with client.post(served.webhook, data=body, headers=headers) as response:
            assert response.status == 200
            assert response.headers["X-Request-Id"] == REQUEST_ID
        # A header that is not a plain token is replaced, never echoed or logged.
        hostile = {**generic(body, msg_id="msg_2"), "X-Request-Id": "a <script>"}
        async with client.post(served.webhook, data=body, headers=hostile) as response:
            assert response.headers["X-Request-Id"] != "a <script>"
    await slack.wait_for("chat.postMessage")
    assert slack.messages(ALERTS)
    await served.logged("posted to slack", within=10)
    delivered = [e for e in lines(served.log()) if "posted to slack" in e["message"]]
    assert [e["request_id"] for e in delivered] == [REQUEST_ID]
    assert delivered[0]["logger"] == "adapters.workers.dispatch"
    assert "<script>" not in served.log()


async def test_metrics_count_commands_alerts_and_the_outbox(
    served: Served, slack: FakeSlack
) -> None:
    status, _, _ = await slack.command(
        served.events, slash("/health", "acme", slack.response_url("m"))
    )
    assert status == 200
    await slack.answer_to("m")
    body = generic_payload(score=2, comment="Great support")
    async with aiohttp.ClientSession() as client:
        async with client.post(served.webhook, data=body, headers=generic(body)) as response:
            assert response.status == 200
        await slack.wait_for("chat.postMessage")
        await served.logged("posted to slack", within=10)
        async with client.get(f"{served.base}/metrics") as response:
            assert response.status == 200
            text = await response.text()
    assert 'closeloop_commands_total{command="health",outcome="answer"} 1.0' in text
    assert 'closeloop_command_seconds_count{command="health"} 1.0' in text
    assert "closeloop_outbox_pending 0.0" in text
    assert "closeloop_outbox_oldest_age_seconds 0.0" in text
    assert 'closeloop_alert_delivery_lag_seconds_count{kind="survey_alert"} 1.0' in text
    assert 'route="/webhooks/surveys/{provider}"' in text
    # SQLite: the one process leads the scheduler.
    assert "closeloop_scheduler_leader 1.0" in text
    # Nothing sensitive: no secret, no account name, no comment.
    for secret in ("xoxb-test-token", GENERIC_SECRET, "Acme", "Great support"):
        assert secret not in text


async def test_secrets_never_reach_the_log_even_in_an_error(
    served: Served, slack: FakeSlack
) -> None:
    # A signature made with the wrong key is refused and logged; the secret is not.
    body = generic_payload(score=3)
    headers = {**generic(body), "webhook-signature": "v1,AAAA"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(served.webhook, data=body, headers=headers) as response,
    ):
        assert response.status == 401
    log = served.log()
    for secret in ("xoxb-test-token", GENERIC_SECRET, GENERIC_SECRET.removeprefix("whsec_")):
        assert secret not in log
