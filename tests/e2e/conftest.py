"""Fixtures the end-to-end tests share."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.bootstrap import build
from adapters.entrypoints.http import build_app
from adapters.settings import Settings
from metrics_core.store import migrate
from metrics_core.store.db import make_engine
from metrics_core.store.models import TeamMember
from metrics_core.synthetic import seed_database
from tests.e2e.loop_service import TODAY, Service, settings_env
from tests.e2e.served import Served
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlack, _free_port


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    """A local Bot Connector: the `serviceUrl` of the activities the tests send."""
    fake = FakeBotConnector()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """A local Slack: the Web API of `SLACK_API_URL`, and the response_urls it hands out."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("loop") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    seed_database(engine, accounts=40, days=40, seed=3, as_of=TODAY)
    with engine.begin() as connection:  # 42 more CS team members for the click race
        connection.execute(
            TeamMember.__table__.insert(),
            [
                {
                    "email": f"extra{i}@closeloop.example",
                    "name": f"Extra {i}",
                    "role": "csm",
                    "slack_user_id": f"U1X{i:03d}",
                    "active": True,
                }
                for i in range(42)
            ],
        )
    engine.dispose()
    return path


@pytest.fixture
def database_file(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "closeloop.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
async def service(database_file: Path, slack: FakeSlack) -> AsyncIterator[Service]:
    container = build(Settings(**settings_env(database_file, slack)))  # type: ignore[arg-type]
    runner = web.AppRunner(build_app(container))
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    dispatching = asyncio.create_task(container.dispatcher.run(stop))
    try:
        yield Service(f"http://127.0.0.1:{port}", container)
    finally:
        stop.set()
        await dispatching
        await runner.cleanup()
        container.close()


@pytest.fixture
def processes() -> Iterator[list[Served]]:
    """`closeloop serve` processes a test starts; stopped when it ends."""
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()
