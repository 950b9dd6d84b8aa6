"""The README's route table is the application's: every route the service can serve is in it.

The real aiohttp application is built from settings as an operator writes them, in each
configuration; its routes are read back from the router and compared with the table
parsed from README.md, so the code and the document cannot drift apart.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError
from typer.testing import CliRunner

from adapters.bootstrap import build
from adapters.entrypoints.cli import app as cli
from adapters.entrypoints.http import build_app
from adapters.entrypoints.serve import run
from adapters.platforms.web.app import PlaygroundRefused
from adapters.settings import Settings
from metrics_core.config import Config

README = Path(__file__).parents[2] / "README.md"

# Settings an operator would write for each way of running the service.
SLACK_HTTP = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-signing-secret"}
SOCKET_MODE = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"}
TEAMS = {
    "MICROSOFT_APP_ID": "8c8f2d4e-6a0b-4f4e-9a53-1f6f0f7c2b11",
    "MICROSOFT_APP_PASSWORD": "not-a-real-client-secret",
}
TEAMS_EMULATOR = {"CLOSELOOP_TEAMS_INSECURE_DEV": "1"}
WEBHOOKS = {
    "CLOSELOOP_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "DELIGHTED_WEBHOOK_SECRET": "dl-secret",
    "TYPEFORM_WEBHOOK_SECRET": "tf-secret",
    "WOOTRIC_WEBHOOK_SECRET": "wt-secret",
}
# Settings of routes the design names that the service does not serve yet: set here, a
# route they switch on fails this test until the README's table has it.
NOT_YET_SERVED: dict[str, str] = {}
INGEST = {"CLOSELOOP_INGEST_TOKEN": "ingest-token"}
PLAYGROUND = {"CLOSELOOP_PLAYGROUND": "1"}
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - the address the playground must refuse

CONFIGURATIONS: dict[str, dict[str, str]] = {
    "nothing configured": {},
    "Slack over HTTP": SLACK_HTTP,
    "Socket Mode": SOCKET_MODE,
    "Slack over HTTP and Socket Mode": {**SLACK_HTTP, **SOCKET_MODE},
    "Teams": TEAMS,
    "Teams emulator": TEAMS_EMULATOR,
    "all survey webhooks": WEBHOOKS,
    "one survey webhook": {"TYPEFORM_WEBHOOK_SECRET": "tf-secret"},
    "playground": PLAYGROUND,
    "usage events": INGEST,
    "a blank ingest token": {"CLOSELOOP_INGEST_TOKEN": " "},
    "everything": {
        **SLACK_HTTP,
        **SOCKET_MODE,
        **TEAMS,
        **WEBHOOKS,
        **PLAYGROUND,
        **INGEST,
        **NOT_YET_SERVED,
    },
}

ALWAYS = {"GET /healthz", "GET /readyz", "GET /metrics"}
SLACK_EVENTS = "POST /slack/events"
TEAMS_MESSAGES = "POST /api/messages"
SURVEYS = "POST /webhooks/surveys/{provider}"
USAGE_EVENTS = "POST /ingest/usage"
PLAYGROUND_ROUTES = {
    "GET /",
    "GET /playground/static/{name}",
    "GET /playground/api/directory",
    "POST /playground/api/command",
    "POST /playground/api/click",
    "POST /playground/api/submit",
    "POST /playground/api/survey",
    "POST /playground/api/digest",
    "POST /playground/api/home",
}

# What each configuration serves: a route exists only with what authenticates it.
EXPECTED = {
    "nothing configured": ALWAYS,
    "Slack over HTTP": ALWAYS | {SLACK_EVENTS},
    "Socket Mode": ALWAYS,
    "Slack over HTTP and Socket Mode": ALWAYS | {SLACK_EVENTS},
    "Teams": ALWAYS | {TEAMS_MESSAGES},
    "Teams emulator": ALWAYS | {TEAMS_MESSAGES},
    "all survey webhooks": ALWAYS | {SURVEYS},
    "one survey webhook": ALWAYS | {SURVEYS},
    "usage events": ALWAYS | {USAGE_EVENTS},
    "a blank ingest token": ALWAYS,
    # The playground's simulated answers go through the generic survey webhook, which it
    # gives a secret of its own when none is set.
    "playground": ALWAYS | PLAYGROUND_ROUTES | {SURVEYS},
}

CHAT_AND_SECRETS = ("SLACK_", "MICROSOFT_", "CLOSELOOP_", "DELIGHTED_", "TYPEFORM_", "WOOTRIC_")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting from the machine running the tests (environment or `.env`) leaks in."""
    for name in list(os.environ):
        if name.startswith(CHAT_AND_SECRETS) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def served_routes(environment: dict[str, str], directory: Path) -> set[str]:
    """`METHOD /template` of every route the real application serves with these settings.

    aiohttp answers HEAD on every GET route by itself; that is the GET route's, not a
    route of its own.
    """
    database = f"sqlite:///{directory / 'closeloop.db'}"
    settings = Settings(DATABASE_URL=database, **environment)  # type: ignore[arg-type]
    container = build(settings)
    try:
        app = build_app(container)
        routes = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None
        }
    finally:
        container.close()
    return {
        f"{method} {path}"
        for method, path in routes
        if not (method == "HEAD" and ("GET", path) in routes)
    }


def readme_routes() -> dict[str, dict[str, str]]:
    """The README's *HTTP endpoints* table: route → its cells by column name."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## HTTP endpoints\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    names = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table: dict[str, dict[str, str]] = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in re.split(r"\s\|\s", line.strip("| "))]
        route = re.fullmatch(r"`([A-Z]+ /\S*)`", cells[0])
        assert route is not None, f"README route table: {cells[0]!r} is not `METHOD /path`"
        table[route.group(1)] = dict(zip(names, cells, strict=True))
    return table


@pytest.mark.parametrize("configuration", sorted(CONFIGURATIONS))
def test_every_route_served_is_in_the_readme_table(
    clean_environment: Path, configuration: str
) -> None:
    documented = readme_routes()
    served = served_routes(CONFIGURATIONS[configuration], clean_environment)
    missing = sorted(served - documented.keys())
    assert not missing, f"{configuration}: routes missing from README's HTTP endpoints table"


@pytest.mark.parametrize("configuration", sorted(EXPECTED))
def test_a_route_exists_only_with_what_authenticates_it(
    clean_environment: Path, configuration: str
) -> None:
    assert (
        served_routes(CONFIGURATIONS[configuration], clean_environment) == EXPECTED[configuration]
    )


def test_every_documented_route_is_served_and_says_how_it_is_authenticated(
    clean_environment: Path,
) -> None:
    documented = readme_routes()
    served = served_routes(CONFIGURATIONS["everything"], clean_environment)
    assert sorted(documented.keys() - served) == []  # no row for a route that does not exist
    for route, cells in documented.items():
        assert cells["exists when"], f"{route}: the README does not say when it exists"
        assert cells["authenticated by"], f"{route}: the README does not say how it is checked"


def test_security_policy_covers_every_route() -> None:
    policy = (README.parent / "SECURITY.md").read_text(encoding="utf-8")
    missing = [route for route in readme_routes() if f"`{route}`" not in policy]
    assert not missing, "SECURITY.md does not say how these routes are authenticated"
    assert "(SECURITY.md)" in README.read_text(encoding="utf-8")  # linked from the README


def test_slack_settings_that_would_half_work_are_refused_with_what_each_mode_needs(
    clean_environment: Path,
) -> None:
    bot, app, signing = "xoxb-bot-7f3a", "xapp-app-9c1d", "signing-4e2b"
    cases = {
        "SLACK_SIGNING_SECRET is set but empty": {
            "SLACK_BOT_TOKEN": bot,
            "SLACK_SIGNING_SECRET": "",
        },
        "SLACK_BOT_TOKEN is set but empty": {"SLACK_BOT_TOKEN": " ", "SLACK_APP_TOKEN": app},
        "SLACK_APP_TOKEN is set without SLACK_BOT_TOKEN": {"SLACK_APP_TOKEN": app},
        "SLACK_SIGNING_SECRET is set without SLACK_BOT_TOKEN": {"SLACK_SIGNING_SECRET": signing},
        "SLACK_APP_TOKEN is not an app-level token": {
            "SLACK_BOT_TOKEN": bot,
            "SLACK_APP_TOKEN": "xoxb-pasted-by-mistake",
        },
    }
    for problem, environment in cases.items():
        with pytest.raises(ValidationError) as refused:
            Settings(**environment)  # type: ignore[arg-type]
        (error,) = refused.value.errors()
        assert error["msg"].removeprefix("Value error, ").startswith(problem)
        assert "Socket Mode" in error["msg"] or "Slack over HTTP" in error["msg"]
        shown = str(refused.value)
        for value in environment.values():
            if value.strip():
                assert value not in shown  # names the setting, never its value


# --- the playground: no login, so off unless switched on, and loopback only -------------------


def test_the_playground_refuses_to_start_on_an_address_others_reach(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`closeloop serve --host 0.0.0.0` with the playground on stops at once, naming the
    setting that would allow it; loopback and the explicit permission start."""
    monkeypatch.setenv("CLOSELOOP_PLAYGROUND", "1")
    refused = CliRunner().invoke(cli, ["serve", "--host", EVERY_INTERFACE, "--port", "1"])
    assert refused.exit_code == 1
    assert "CLOSELOOP_PLAYGROUND_ALLOW_REMOTE" in refused.output
    assert EVERY_INTERFACE in refused.output

    settings = Settings(CLOSELOOP_PLAYGROUND="1")  # type: ignore[call-arg]
    for host in (EVERY_INTERFACE, "::", "192.168.1.20", "closeloop.example.com", ""):
        with pytest.raises(PlaygroundRefused, match="CLOSELOOP_PLAYGROUND_ALLOW_REMOTE"):
            asyncio.run(run(settings, Config(), host, 1))


def test_the_playground_starts_on_loopback_or_when_allowed(clean_environment: Path) -> None:
    from adapters.entrypoints.serve import check_playground

    on = Settings(CLOSELOOP_PLAYGROUND="1")  # type: ignore[call-arg]
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"):
        check_playground(on, host)
    allowed = Settings(  # type: ignore[call-arg]
        CLOSELOOP_PLAYGROUND="1", CLOSELOOP_PLAYGROUND_ALLOW_REMOTE="1"
    )
    check_playground(allowed, EVERY_INTERFACE)
    check_playground(Settings(), EVERY_INTERFACE)  # no playground, nothing to refuse


@pytest.fixture
async def service(
    clean_environment: Path, request: pytest.FixtureRequest
) -> AsyncIterator[TestClient[Any, Any]]:
    """The application with the settings the test is parametrized with."""
    database = f"sqlite:///{clean_environment / 'closeloop.db'}"
    settings = Settings(DATABASE_URL=database, **request.param)  # type: ignore[arg-type]
    container = build(settings)
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(container)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        container.close()


@pytest.mark.parametrize("service", [{}], indirect=True)
async def test_without_the_playground_there_is_no_page(service: TestClient[Any, Any]) -> None:
    for path in ("/", "/playground/static/playground.js", "/playground/api/directory"):
        assert (await service.get(path)).status == 404
    assert (await service.post("/playground/api/command", json={"text": "help"})).status == 404


@pytest.mark.parametrize("service", [PLAYGROUND], indirect=True)
async def test_the_playground_page_and_its_files(service: TestClient[Any, Any]) -> None:
    page = await service.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    html = await page.text()
    for name in ("playground.js", "playground.css", "plotly.min.js"):
        assert f"/playground/static/{name}" in html
        served = await service.get(f"/playground/static/{name}")
        assert served.status == 200, name
    plotly = await (await service.get("/playground/static/plotly.min.js")).text()
    assert "plotly.js v" in plotly[:200]  # the library itself, from the installed package
    for other in ("index.html", "app.py", "..%2Fapp.py", "x.js"):
        assert (await service.get(f"/playground/static/{other}")).status == 404


@pytest.mark.parametrize("service", [PLAYGROUND], indirect=True)
async def test_the_playground_answers_only_its_own_page_on_loopback(
    service: TestClient[Any, Any],
) -> None:
    """Another site can neither post to it nor reach it by a name pointed at 127.0.0.1."""
    rebound = await service.get("/", headers={"Host": "attacker.example:3000"})
    assert rebound.status == 403
    form_post = await service.post(
        "/playground/api/command", data="text=help", headers={"Content-Type": "text/plain"}
    )
    assert form_post.status == 415
    foreign = await service.post(
        "/playground/api/command",
        json={"text": "help"},
        headers={"Origin": "http://attacker.example"},
    )
    assert foreign.status == 403
    for host in ("localhost:3000", "127.0.0.1:3000", "[::1]:3000"):
        assert (await service.get("/", headers={"Host": host})).status == 200, host
