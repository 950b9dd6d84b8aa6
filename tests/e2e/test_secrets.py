"""No secret leaves the service: not in its logs, its replies, or its database.

`closeloop serve` runs as a real process at DEBUG with distinctive values for every
secret it knows (Slack's signing secret and bot token, the four survey webhook secrets,
the Microsoft app password, and a PostgreSQL password in DATABASE_URL, for a role created
for this test). The test then drives every way in: Slack requests signed and forged, each
webhook good, forged and malformed, Teams activities with and without a valid token (the
reply needs a Bot Connector token, which fails without Microsoft: an error path too),
then a database that refuses the role, so commands fail and webhooks answer 503. Finally
it reads everything the service wrote and said, and every row of every table, looking for
each secret as written and in the encodings a careless log would use.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
import pytest
from sqlalchemy import create_engine, select, text

from metrics_core.store import migrate
from metrics_core.store.db import make_engine
from metrics_core.store.models import Base
from metrics_core.synthetic import seed_database
from tests import webhook_signing as vendors
from tests.e2e import teams_activities as teams
from tests.e2e.slack_requests import click, home_opened, sign, slash
from tests.e2e.test_teams import APP_ID, SigningKeys
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlack, _free_port

pytestmark = pytest.mark.postgres


def _token(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(16)}"


WEBHOOK_KEY = secrets.token_bytes(32)
SECRETS = {
    "SLACK_SIGNING_SECRET": _token("sigsecret"),
    "SLACK_BOT_TOKEN": _token("xoxb-4242-"),
    "CLOSELOOP_WEBHOOK_SECRET": "whsec_" + base64.b64encode(WEBHOOK_KEY).decode(),
    "DELIGHTED_WEBHOOK_SECRET": _token("dlkey"),
    "TYPEFORM_WEBHOOK_SECRET": _token("tfsecret"),
    "WOOTRIC_WEBHOOK_SECRET": _token("wtoken"),
    "MICROSOFT_APP_PASSWORD": _token("msapppw~"),
}
DB_PASSWORD = _token("pgpw")


def forms(secret: str) -> set[str]:
    """A secret as written and as a log line might encode it."""
    raw = secret.encode()
    found = {
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        quote(secret, safe=""),
        quote_plus(secret),
    }
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret.removeprefix("whsec_"))
        found |= {secret.removeprefix("whsec_"), key.hex(), base64.urlsafe_b64encode(key).decode()}
    return {form for form in found if len(form) >= 12}


ALL_FORMS = {name: forms(value) for name, value in {**SECRETS, "DB": DB_PASSWORD}.items()}


def leaks(where: str, content: str) -> list[str]:
    return [
        f"{name} in {where}"
        for name, shapes in ALL_FORMS.items()
        if any(shape in content for shape in shapes)
    ]


@pytest.fixture
def database(postgres_server: str) -> Iterator[tuple[str, str]]:
    """A schema with a small demo book, and a login role with a password that may use it.

    Yields (the service's URL, with the password; the administrator's URL for the schema).
    The role and the schema are dropped afterwards.
    """
    suffix = uuid.uuid4().hex[:10]
    role, schema = f"closeloop_secret_{suffix}", f"s_{suffix}"
    admin = create_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{DB_PASSWORD}'"))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    schema_url = f"{postgres_server}?options=-csearch_path%3D{schema}"
    engine = make_engine(schema_url)
    migrate.upgrade(engine)
    seed_database(engine, accounts=20, days=30, seed=3, as_of=dt.datetime.now(dt.UTC).date())
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
        for what in ("TABLES", "SEQUENCES"):
            connection.execute(text(f'GRANT ALL ON ALL {what} IN SCHEMA "{schema}" TO {role}'))
    server = postgres_server.split("@", 1)[1]
    try:
        yield (
            f"postgresql+psycopg://{role}:{DB_PASSWORD}@{server}?options=-csearch_path%3D{schema}",
            schema_url,
        )
    finally:
        with admin.begin() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


class Replies:
    """Every reply body the service gave, to search for secrets."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.bodies: list[str] = []
        self.statuses: dict[str, int] = {}

    async def send(
        self, label: str, method: str, path: str, *, data: Any = None, headers: Any = None
    ) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as client,
            client.request(method, self.base + path, data=data, headers=headers) as response,
        ):
            body = await response.text()
        self.bodies.append(body)
        self.statuses[label] = response.status
        return response.status, body


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeBotConnector, SigningKeys]]:
    slack, connector, keys = FakeSlack(), FakeBotConnector(), SigningKeys()
    await slack.start()
    await connector.start()
    await keys.start()
    yield slack, connector, keys
    await keys.stop()
    await connector.stop()
    await slack.stop()


def slack_request(body: str, *, forged: bool = False, old: bool = False) -> dict[str, str]:
    stamp = str(int(time.time()) - (3600 if old else 0))
    secret = "someone-elses-secret" if forged else SECRETS["SLACK_SIGNING_SECRET"]
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(body, stamp, secret),
    }


def signed_webhook(provider: str, body: bytes, *, forged: bool = False) -> dict[str, str]:
    if provider == "generic":
        secret = "whsec_" + base64.b64encode(b"x" * 32).decode() if forged else None
        return vendors.sign_generic(
            secret or SECRETS["CLOSELOOP_WEBHOOK_SECRET"], body, timestamp=int(time.time())
        )
    key = "someone-elses" if forged else SECRETS[f"{provider.upper()}_WEBHOOK_SECRET"]
    signer = {
        "delighted": vendors.sign_delighted,
        "typeform": vendors.sign_typeform,
        "wootric": vendors.sign_wootric,
    }[provider]
    return signer(key, body)


PAYLOADS = {
    "generic": vendors.generic_payload,
    "delighted": vendors.delighted_payload,
    "typeform": vendors.typeform_payload,
    "wootric": vendors.wootric_payload,
}


async def drive(
    replies: Replies, slack: FakeSlack, connector: FakeBotConnector, keys: SigningKeys, tag: str
) -> None:
    """Every way in, once: what works, what is forged, what is malformed."""
    for path in ("/healthz", "/readyz", "/metrics"):
        await replies.send(f"{tag} {path}", "GET", path)

    command = slash("/health", "acme", slack.response_url(f"{tag}-1"))
    await replies.send(
        f"{tag} slash", "POST", "/slack/events", data=command, headers=slack_request(command)
    )
    await replies.send(
        f"{tag} slash forged",
        "POST",
        "/slack/events",
        data=command,
        headers=slack_request(command, forged=True),
    )
    await replies.send(
        f"{tag} slash stale",
        "POST",
        "/slack/events",
        data=command,
        headers=slack_request(command, old=True),
    )
    pressed = click("closeloop.refresh", {"command": "churn top"}, slack.response_url(f"{tag}-2"))
    await replies.send(
        f"{tag} click", "POST", "/slack/events", data=pressed, headers=slack_request(pressed)
    )
    event = home_opened("U0CSM1", f"Ev{tag}{uuid.uuid4().hex[:6]}")
    json_headers = {**slack_request(event), "Content-Type": "application/json"}
    await replies.send(f"{tag} home", "POST", "/slack/events", data=event, headers=json_headers)

    for provider, payload in PAYLOADS.items():
        body = payload(response_id=f"{tag}-{provider}", score=3, comment="Exports fail")
        path = f"/webhooks/surveys/{provider}"
        await replies.send(
            f"{tag} {provider}", "POST", path, data=body, headers=signed_webhook(provider, body)
        )
        await replies.send(
            f"{tag} {provider} forged",
            "POST",
            path,
            data=body,
            headers=signed_webhook(provider, body, forged=True),
        )
        bad = b'{"score": "many"'
        await replies.send(
            f"{tag} {provider} malformed",
            "POST",
            path,
            data=bad,
            headers=signed_webhook(provider, bad),
        )

    service_url = connector.service_url
    bearer = {
        "Authorization": f"Bearer {keys.token(service_url)}",
        "Content-Type": "application/json",
    }
    message = json.dumps(teams.message("health acme", service_url=service_url))
    await replies.send(
        f"{tag} teams message", "POST", "/api/messages", data=message, headers=bearer
    )
    refresh = json.dumps(
        teams.invoke("closeloop.refresh", {"command": "health acme"}, service_url=service_url)
    )
    await replies.send(f"{tag} teams invoke", "POST", "/api/messages", data=refresh, headers=bearer)
    await replies.send(
        f"{tag} teams unsigned",
        "POST",
        "/api/messages",
        data=refresh,
        headers={"Content-Type": "application/json"},
    )


async def test_no_secret_reaches_logs_replies_or_the_database(
    database: tuple[str, str],
    fakes: tuple[FakeSlack, FakeBotConnector, SigningKeys],
    tmp_path: Path,
    postgres_server: str,
) -> None:
    service_url, schema_url = database
    slack, connector, keys = fakes
    port = _free_port()
    env = {
        **os.environ,
        **SECRETS,
        "DATABASE_URL": service_url,
        "CLOSELOOP_LOG_LEVEL": "DEBUG",
        "SLACK_API_URL": slack.api_url,
        "CLOSELOOP_SLACK_ALERTS_CHANNEL": "C0ALERTS",
        "MICROSOFT_APP_ID": APP_ID,
        "CLOSELOOP_TEAMS_OPENID_METADATA_URL": f"{keys.base}/v1/.well-known/openidconfiguration",
        "CLOSELOOP_TEAMS_REPLY_BUDGET_SECONDS": "2",
    }
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    process = start_serve(port, env, tmp_path, out, err)
    try:
        replies = Replies(f"http://127.0.0.1:{port}")
        await ready(replies, process, err)
        await drive(replies, slack, connector, keys, "ok")
        await asyncio.sleep(1.0)  # late answers, alerts and the Teams reply attempt

        # The database turns the role away: commands fail, webhooks cannot store.
        admin = create_engine(schema_url)
        with admin.begin() as connection:
            schema = connection.scalar(text("SELECT current_schema()"))
            role = service_url.split("//", 1)[1].split(":", 1)[0]
            connection.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {role}'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
        admin.dispose()
        await drive(replies, slack, connector, keys, "down")
        await asyncio.sleep(1.0)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    expected = {
        "ok slash": 200,
        "ok slash forged": 401,
        "ok slash stale": 401,
        "ok generic": 200,
        "ok delighted forged": 401,
        "ok typeform malformed": 400,
        "ok teams invoke": 200,
        "ok teams unsigned": 401,
        "down generic": 503,
        "down wootric": 503,
    }
    assert {label: replies.statuses.get(label) for label in expected} == expected
    logs = out.read_text(errors="replace") + err.read_text(errors="replace")
    # The run logged (as JSON lines, the service's format off a terminal), failures included.
    assert '"level": "debug"' in logs and "incident" in logs
    slack_answers = json.dumps([call.body for call in slack.calls], ensure_ascii=False)
    teams_answers = json.dumps([call.body for call in connector.calls], ensure_ascii=False)
    engine = create_engine(schema_url)
    with engine.connect() as connection:
        rows = [
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in connection.execute(select(table))
        ]
    engine.dispose()
    found = [
        *leaks("the logs", logs),
        *leaks("an HTTP reply", "\n".join(replies.bodies)),
        *leaks("a Slack message", slack_answers),
        *leaks("a Teams message", teams_answers),
        *leaks("the database", "\n".join(rows)),
    ]
    assert found == []


async def ready(replies: Replies, process: subprocess.Popen[bytes], err: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {tail(err)}")
        try:
            if (await replies.send("start", "GET", "/readyz"))[0] == 200:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("serve did not become ready")


def start_serve(
    port: int, env: dict[str, str], folder: Path, out: Path, err: Path
) -> subprocess.Popen[bytes]:
    """`closeloop serve` in `folder` (no `.env` of the checkout), its output in two files."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "adapters.entrypoints.cli", "serve", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=stdout,
            stderr=stderr,
        )


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]
