"""The playground: the bot in a browser page, for anyone without a chat workspace to try.

`GET /` is a chat-like page: type a command and see the `Reply` Slack and Teams would get,
press its buttons, act as any member of the CS team, simulate a survey answer, send
today's digest, open App Home. The page calls the JSON API under `/playground/api/`, and
everything goes the way it goes in chat:

- commands through `Router.handle`, buttons through `Router.click` and forms through
  `Router.submit`, so the click protocol (`bot.clicks`) decides what a press shows and
  where its answer goes, as for every surface;
- a simulated survey answer through the real intake: the playground signs a `generic`
  webhook delivery with the service's own secret and posts it to the service's own
  `/webhooks/surveys/generic` over loopback HTTP; the alert is then rendered by the
  dispatcher's presenter (`bot.messages.alerts`) from the stored follow-up;
- a claim or a close updates every copy of the alert on the page, as the dispatcher edits
  the posted alert in chat.

It has no login: whoever reaches it can act as anyone. So it exists only when switched on
(`CLOSELOOP_PLAYGROUND=1`, or `closeloop demo`), the service refuses to start with it on a
host other than loopback unless `CLOSELOOP_PLAYGROUND_ALLOW_REMOTE=1` says so
(`require_loopback`), and each request must name a loopback host (so a web page cannot
reach it by pointing its own domain name at 127.0.0.1) and, when posting, be JSON from
the page's own origin (so another site's form cannot post to it).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import ipaddress
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from adapters.platforms.web import directory
from adapters.platforms.web.render import render_form, render_replies, render_reply
from bot.actions import FOLLOW_UP_ACTIONS
from bot.clicks import Answer, ShowForm
from bot.inbound import ActionRequest, Actor, CommandRequest, Platform
from bot.messages.alerts import survey_alert
from bot.messages.digest import build_digest
from bot.messages.home import home
from bot.reply import Reply, Visibility
from bot.router import Router
from metrics_core.clock import Clock
from metrics_core.config import Config
from metrics_core.delivery.alert_facts import survey_alert_facts
from metrics_core.digests.facts import digest_facts
from metrics_core.digests.subscriptions import Scope
from metrics_core.store.db import Database
from metrics_core.store.models import DigestCadence, DigestScope

log = logging.getLogger(__name__)

ENABLE: Final = "CLOSELOOP_PLAYGROUND"
ALLOW_REMOTE: Final = "CLOSELOOP_PLAYGROUND_ALLOW_REMOTE"
PREFIX: Final = "/playground"
API: Final = f"{PREFIX}/api"
CONVERSATION: Final = "playground"
"""The conversation the page is, as requests name where they were asked."""
WEBHOOK_PROVIDER: Final = "generic"
WEBHOOK_PATH: Final = f"/webhooks/surveys/{WEBHOOK_PROVIDER}"
MAX_TEXT: Final = 1_000
MAX_COMMENT: Final = 2_000
MAX_PAYLOAD_ITEMS: Final = 20
OWN_POST_SECONDS: Final = 30.0

PAGE_HEADERS: Final = {
    # plotly.js sets inline styles on what it draws, hence 'unsafe-inline' for styles only;
    # no script runs but the two files this service serves.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class PlaygroundRefused(ValueError):
    """The playground is on, but the service would listen where others can reach it."""


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only: `localhost`, 127.0.0.0/8 or ::1."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_loopback(*, enabled: bool, allow_remote: bool, host: str) -> None:
    """Refuse to serve the playground, which has no login, where other machines reach it.

    An address like 0.0.0.0 (every interface) or a host name other than `localhost` is not
    loopback. `CLOSELOOP_PLAYGROUND_ALLOW_REMOTE=1` is the operator saying that whoever
    can reach the address may act as anyone on the CS team.
    """
    if not enabled or allow_remote or is_loopback(host):
        return
    raise PlaygroundRefused(
        f"the playground ({ENABLE}) has no login and serves loopback addresses only, but the "
        f"service would listen on {host or 'every interface'}: listen on 127.0.0.1, switch "
        f"the playground off, or set {ALLOW_REMOTE}=1 if everyone who can reach that address "
        "may act as anyone on the CS team"
    )


Signer = Callable[[bytes, str, int], dict[str, str]]
"""(body, message id, unix time) → the headers of a signed webhook delivery."""


@dataclass(frozen=True, slots=True)
class Playground:
    """What the playground works with, built by the composition root."""

    router: Router
    db: Database
    config: Config
    clock: Clock
    sign: Signer = field(repr=False)
    """Signs a simulated answer as a survey tool would for the `generic` webhook (with its
    secret): given the body, a message id and a unix time, the request's headers."""
    allow_remote: bool = False


PLAYGROUND = web.AppKey("playground", Playground)


# --- static files ----------------------------------------------------------------------------

STATIC: Final = {
    "playground.js": ("adapters.platforms.web", "static/playground.js", "text/javascript"),
    "playground.css": ("adapters.platforms.web", "static/playground.css", "text/css"),
    "plotly.min.js": ("plotly", "package_data/plotly.min.js", "text/javascript"),
}
"""What `/playground/static/{name}` serves: the page's own script and style (package data
of this module), and plotly.js as the `plotly` package ships it. Nothing else."""
KEPT: Final = frozenset({"plotly.min.js"})
"""Files a browser may keep for a day: plotly.js (4.8 MB) changes only with the package."""


@functools.cache
def _resource(package: str, path: str) -> bytes:
    return importlib.resources.files(package).joinpath(path).read_bytes()


# --- requests --------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler) -> Handler:
    """Answer only requests to a loopback host name and, for posts, JSON from this origin.

    The host check stops DNS rebinding (a page whose domain name is pointed at 127.0.0.1
    would be same-origin with the playground in the browser's eyes, but its requests name
    that domain as the host). Requiring JSON makes a browser ask before posting across
    origins, which nothing here answers; the origin check refuses what gets through anyway.
    """

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        playground = request.app[PLAYGROUND]
        host = request.url.host or ""
        if not playground.allow_remote and not is_loopback(host):
            return _error(403, "the playground answers requests to a loopback address only")
        if request.method == "POST":
            if request.content_type != "application/json":
                return _error(415, "send JSON (Content-Type: application/json)")
            origin = request.headers.get("Origin")
            # Scheme aside: behind an HTTPS proxy the page's origin is https, this request http.
            if origin is not None and origin.partition("://")[2] != request.host:
                return _error(403, "the playground answers its own page only")
        try:
            return await handler(request)
        except _Refused as refused:
            return _error(refused.status, refused.message)

    return guarded


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> Mapping[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Refused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Refused(400, "the body is not a JSON object")
    return data


def _string(
    data: Mapping[str, Any], name: str, limit: int = MAX_TEXT, *, blank: bool = False
) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise _Refused(400, f"{name}: not text")
    if len(value) > limit:
        raise _Refused(400, f"{name}: longer than {limit:,} characters")
    if not blank and not value.strip():
        raise _Refused(400, f"{name}: missing")
    return value


def _payload(data: Mapping[str, Any]) -> dict[str, str]:
    payload = data.get("payload", {})
    if not isinstance(payload, dict) or len(payload) > MAX_PAYLOAD_ITEMS:
        raise _Refused(400, "payload: not an object of a few texts")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in payload.items()):
        raise _Refused(400, "payload: every key and value must be text")
    if any(len(v) > MAX_COMMENT for v in payload.values()):
        raise _Refused(400, f"payload: a value longer than {MAX_COMMENT:,} characters")
    return dict(payload)


async def _actor(playground: Playground, data: Mapping[str, Any]) -> Actor:
    """Who the page acts as: a chat user id from the team table, shown by their name."""
    user = _string(data, "user", 64, blank=True).strip()
    if not user:
        return Actor(Platform.WEB)
    found = await playground.db.read(functools.partial(directory.person, user_id=user))
    return Actor(Platform.WEB, user_id=user, display_name=found.name if found else None)


def _clicked_on(data: Mapping[str, Any]) -> Visibility | None:
    value = data.get("clicked_on")
    return Visibility(value) if value in tuple(Visibility) else None


async def _action(playground: Playground, data: Mapping[str, Any]) -> ActionRequest:
    return ActionRequest(
        action_id=_string(data, "action_id", 100),
        payload=_payload(data),
        actor=await _actor(playground, data),
        conversation=CONVERSATION,
        clicked_on=_clicked_on(data),
    )


def _today(playground: Playground) -> dt.date:
    return playground.clock().date()


async def _alert_html(playground: Playground, follow_up_id: int) -> str | None:
    """A follow-up's survey alert as it stands now, as the dispatcher renders it."""
    facts = await playground.db.read(
        functools.partial(
            survey_alert_facts,
            follow_up_id=follow_up_id,
            as_of=_today(playground),
            config=playground.config,
        )
    )
    if facts is None:
        return None
    return render_reply(survey_alert(facts, playground.config), alert=follow_up_id)


async def _answered(playground: Playground, request: ActionRequest, answer: Answer) -> web.Response:
    """An answer, where it goes, and the alert it changed (edited in place on the page)."""
    alerts: dict[str, str] = {}
    follow_up = request.payload.get("follow_up", "")
    if request.action_id in FOLLOW_UP_ACTIONS and follow_up.isdecimal():
        edited = await _alert_html(playground, int(follow_up))
        if edited is not None:
            alerts[follow_up] = edited
    return web.json_response(
        {
            "delivery": answer.delivery.value,
            "html": render_reply(answer.reply),
            "alerts": alerts,
        }
    )


# --- handlers --------------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    """The playground page itself; everything it shows comes from the API."""
    body = _resource("adapters.platforms.web", "static/index.html")
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    found = STATIC.get(name)
    if found is None:
        raise web.HTTPNotFound()
    package, path, content_type = found
    response = web.Response(
        body=_resource(package, path),
        content_type=content_type,
        charset="utf-8",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "max-age=86400" if name in KEPT else "no-cache",
        },
    )
    response.enable_compression()
    return response


async def people_and_accounts(request: web.Request) -> web.Response:
    """Who the page can act as, and the accounts a survey answer can come from."""
    playground = request.app[PLAYGROUND]
    people = await playground.db.read(directory.people)
    accounts = await playground.db.read(directory.accounts)
    return web.json_response(
        {
            "people": [{"user_id": p.user_id, "name": p.name, "role": p.role} for p in people],
            "accounts": [{"id": a.external_id, "name": a.name} for a in accounts],
        }
    )


async def command(request: web.Request) -> web.Response:
    """A command typed on the page, answered by the router as in chat."""
    playground = request.app[PLAYGROUND]
    data = await _body(request)
    text = _string(data, "text")
    actor = await _actor(playground, data)
    reply = await playground.router.handle(CommandRequest.parse(text, actor, CONVERSATION))
    return web.json_response({"html": render_reply(reply)})


async def click(request: web.Request) -> web.Response:
    """A button pressed: the form it asks first, or its answer and where that goes."""
    playground = request.app[PLAYGROUND]
    action = await _action(playground, await _body(request))
    pressed = await playground.router.click(action)
    if isinstance(pressed, ShowForm):
        return web.json_response(
            {"form": render_form(pressed.form, action.action_id, action.payload)}
        )
    return await _answered(playground, action, pressed)


async def submit(request: web.Request) -> web.Response:
    """A form's answers, merged into the pressed button's payload."""
    playground = request.app[PLAYGROUND]
    action = await _action(playground, await _body(request))
    return await _answered(playground, action, await playground.router.submit(action))


def _own_origin(request: web.Request) -> str:
    """This service, as this very connection reached it: its own address and port."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if not sockname:
        raise _Refused(503, "the connection closed before the answer could be sent")
    host, port = str(sockname[0]), int(sockname[1])
    # A wildcard address (compared here, not bound to) is reached on loopback too.
    if host in ("0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _deliver(request: web.Request, playground: Playground, body: bytes) -> None:
    """Post a signed delivery to this service's own survey webhook, as a survey tool would."""
    now = playground.clock()
    headers = playground.sign(body, f"msg_{uuid.uuid4().hex}", int(now.timestamp()))
    timeout = aiohttp.ClientTimeout(total=OWN_POST_SECONDS)
    url = _own_origin(request) + WEBHOOK_PATH
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as client,
            client.post(url, data=body, headers=headers) as response,
        ):
            status, text = response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("playground: the survey webhook did not answer: %s", type(error).__name__)
        raise _Refused(502, "the survey webhook did not answer; see the service's log") from None
    if status != 200:
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            answer = {}
        why = answer.get("error", "") if isinstance(answer, dict) else ""
        raise _Refused(502, f"the survey webhook answered {status}: {why}".rstrip(": "))


def _score(data: Mapping[str, Any]) -> int:
    score = data.get("score")
    if isinstance(score, str) and score.strip().isdecimal():
        score = int(score)
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
        raise _Refused(400, "score: an NPS score is a whole number from 0 to 10")
    return score


async def survey(request: web.Request) -> web.Response:
    """Simulate an NPS answer: through the real webhook, then shown as its alert."""
    playground = request.app[PLAYGROUND]
    data = await _body(request)
    account = _string(data, "account", 64)
    score = _score(data)
    comment = _string(data, "comment", MAX_COMMENT, blank=True).strip()
    found = await playground.db.read(functools.partial(directory.answering, external_id=account))
    if found is None:
        raise _Refused(400, "account: no account has that external id")
    response_id = f"playground-{uuid.uuid4().hex[:16]}"
    respondent = found.respondent
    delivery = {
        "response_id": response_id,
        "survey": "nps",
        "score": score,
        "comment": comment or None,
        "respondent": {"email": respondent.email, "name": respondent.name} if respondent else None,
        "account_external_id": account,
        "submitted_at": playground.clock().astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    await _deliver(request, playground, json.dumps(delivery).encode("utf-8"))
    follow_up = await playground.db.read(
        functools.partial(
            directory.follow_up_of, provider=WEBHOOK_PROVIDER, response_id=response_id
        )
    )
    shown = await _alert_html(playground, follow_up) if follow_up is not None else None
    if shown is None:
        bands = ", ".join(b.value for b in playground.config.follow_ups.sla_bands) or "no"
        shown = render_reply(
            Reply(
                heading=f"NPS {score} from {found.name} stored; no alert",
                paragraphs=(
                    "It opened no follow-up: no alert route of `closeloop.toml` matches it, "
                    f"and only {bands} answers are followed up without one.",
                ),
            )
        )
    return web.json_response({"html": shown})


async def digest(request: web.Request) -> web.Response:
    """Today's daily digest of the whole portfolio, as a team channel would get it now."""
    playground = request.app[PLAYGROUND]
    config = playground.config
    now = playground.clock()
    today = now.astimezone(ZoneInfo(config.digests.default_timezone)).date()
    facts = await playground.db.read(
        functools.partial(
            digest_facts,
            cadence=DigestCadence.DAILY,
            scope=Scope(DigestScope.PORTFOLIO),
            as_of=today,
            window_end=now,
            config=config,
            now=now,
            previous=None,
        )
    )
    reply = build_digest(facts, config=config, now=now).reply
    return web.json_response({"html": render_reply(replace(reply, visibility=Visibility.CHANNEL))})


async def app_home(request: web.Request) -> web.Response:
    """App Home as the chosen person sees it: their own book of business."""
    playground = request.app[PLAYGROUND]
    actor = await _actor(playground, await _body(request))
    replies = await home(actor, playground.router.context)
    title = f"App Home · {actor.display_name}" if actor.display_name else "App Home"
    return web.json_response({"html": render_replies(replies, title=title)})


def add_routes(app: web.Application, playground: Playground) -> None:
    """Mount the page, its files and its API (only ever called with the playground on)."""
    app[PLAYGROUND] = playground
    app.router.add_get("/", _guarded(page))
    app.router.add_get(f"{PREFIX}/static/{{name}}", _guarded(static))
    app.router.add_get(f"{API}/directory", _guarded(people_and_accounts))
    app.router.add_post(f"{API}/command", _guarded(command))
    app.router.add_post(f"{API}/click", _guarded(click))
    app.router.add_post(f"{API}/submit", _guarded(submit))
    app.router.add_post(f"{API}/survey", _guarded(survey))
    app.router.add_post(f"{API}/digest", _guarded(digest))
    app.router.add_post(f"{API}/home", _guarded(app_home))
