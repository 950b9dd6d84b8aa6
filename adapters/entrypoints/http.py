"""The aiohttp application: every HTTP route of the service, and nothing but translation."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.orm import Session

from adapters.bootstrap import Container
from adapters.platforms.slack.serving import dispatch
from adapters.platforms.web.app import add_routes as add_playground
from adapters.platforms.webhooks import WebhookError, parse_delivery
from metrics_core import correlation
from metrics_core.delivery import outbox
from metrics_core.followups.intake import Intake, record_answer

log = logging.getLogger(__name__)

CONTAINER = web.AppKey("container", Container)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers. It deliberately does not touch the database."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the database answers, so traffic may be routed here."""
    container = request.app[CONTAINER]
    try:
        await container.db.read(lambda session: session.connection())
    except Exception as error:  # any failure means "not ready"; the reason goes to the log
        log.warning("readiness check failed: %s", type(error).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "reachable"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: request counts and latencies by method, route template and status.

    Unauthenticated, as scrapers expect: the labels hold only what `instrument` bounds
    (known methods, route templates, status codes), never a path, a query, an account or
    a secret, so there is nothing in it to protect beyond the volume of traffic.
    """
    container = request.app[CONTAINER]
    try:
        backlog = await container.db.read(outbox.backlog)
    except Exception as error:  # the other metrics are still worth scraping
        log.warning("outbox depth unavailable for /metrics: %s", type(error).__name__)
        backlog = None
    body = container.telemetry.exposition(backlog, container.clock())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@web.middleware
async def instrument(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count requests and time them by route template, never by raw path (unbounded labels).

    The method is the sender's to choose too, so one the service does not know is counted
    as `other`: labels stay few, and nothing a stranger writes ends up in /metrics.
    """
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    method = request.method if request.method in _METHODS else "other"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        telemetry = request.app[CONTAINER].telemetry
        telemetry.requests.labels(method, name, str(status)).inc()
        telemetry.latency.labels(method, name).observe(time.perf_counter() - started)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@web.middleware
async def request_ids(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Give each request an id, carried into the work it starts and logged with it.

    A proxy's `X-Request-Id` is kept when it is a plain token (so one id spans the proxy's
    log and ours); anything else a sender writes there is replaced, never logged. The id
    goes back in the response's `X-Request-Id`.
    """
    offered = request.headers.get("X-Request-Id", "")
    rid = offered if _REQUEST_ID.fullmatch(offered) else secrets.token_hex(16)
    correlation.request_id.set(rid)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        error.headers["X-Request-Id"] = rid
        raise
    response.headers["X-Request-Id"] = rid
    return response


async def slack_events(request: web.Request) -> web.Response:
    """Slash commands, buttons and events: one Request URL, handed to slack-bolt as is.

    Bolt checks Slack's signature (HMAC-SHA256 with the signing secret, timestamp within
    five minutes) before any listener runs, and answers 401 otherwise.
    """
    slack = request.app[CONTAINER].slack
    assert slack is not None  # the route exists only when Slack is configured
    return await dispatch(slack, request)


async def teams_messages(request: web.Request) -> web.Response:
    """Bot Framework activities from Teams, handed to the Teams app (which authenticates)."""
    teams = request.app[CONTAINER].teams
    assert teams is not None  # the route exists only when Teams is configured
    return await teams.handle(request)


async def _finish_teams(app: web.Application) -> None:
    """Answers still being prepared for Teams go out before the service stops."""
    teams = app[CONTAINER].teams
    if teams is not None:
        await teams.close()


MAX_BODY_BYTES = 1024**2
"""The largest request body any route reads (README: HTTP endpoints). Survey answers, Slack
payloads and Teams activities are a few kilobytes; a megabyte is already none of them."""


@web.middleware
async def refuse_oversized(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A body over `MAX_BODY_BYTES` is answered 413 before it is read whole.

    An announced `Content-Length` over the cap is refused before a byte of the body is
    read. A chunked body (no length) is read here, before any handler, and reading stops
    as soon as it passes the cap (aiohttp's `client_max_size`); the handler then gets the
    bytes already read. Done once for every route, so no handler, nor a library it hands
    the request to, can read more or turn the refusal into another status.
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _too_large()
    if request.content_length is None and request.body_exists:
        try:
            await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _too_large()
    return await handler(request)


def _too_large() -> web.Response:
    limit = f"{MAX_BODY_BYTES:,} bytes ({MAX_BODY_BYTES // 1024**2} MiB)"
    return web.json_response(
        {"error": f"the request body is larger than {limit}, the most this service reads"},
        status=413,
    )


async def survey_webhook(request: web.Request) -> web.Response:
    """A survey answer: verified, stored with its alerts, and only then acknowledged.

    A 2xx means committed. A database failure answers 503, so the vendor retries, and a
    retry of an answer that did commit changes nothing (the answer is unique per vendor id).
    """
    container = request.app[CONTAINER]
    provider = request.match_info["provider"]
    body = await request.read()
    now = container.clock()
    try:
        answers = parse_delivery(provider, request.headers, body, container.webhook_secrets, now)
    except WebhookError as error:
        log.info("survey webhook %s refused (%d): %s", provider, error.status, error.message)
        return web.json_response({"error": error.message}, status=error.status)

    def store(session: Session) -> list[Intake]:
        return [
            record_answer(
                session,
                answer,
                config=container.config,
                fallback=container.alerts_fallback,
                now=now,
            )
            for answer in answers
        ]

    try:
        stored = await container.db.write(store)
    except Exception as error:  # the vendor retries on 5xx; the log says why
        log.error("survey webhook %s not stored: %s", provider, type(error).__name__)
        return web.json_response({"error": "the answer could not be stored; retry"}, status=503)
    if any(intake.alerts or intake.changed for intake in stored):
        container.dispatcher.wake()
    return web.json_response(
        {
            "stored": len(stored),
            "new": sum(intake.created for intake in stored),
            "alerts": sum(intake.alerts for intake in stored),
        }
    )


async def ingest_usage(request: web.Request) -> web.Response:
    """Product-usage events (Segment spec) with the ingest bearer token; 200 once committed."""
    ingest = request.app[CONTAINER].usage_ingest
    assert ingest is not None  # the route exists only when the token is set
    return await ingest.receive(request)


async def _close_slack_responses(app: web.Application) -> None:
    responses = app[CONTAINER].slack_responses
    if responses is not None:
        await responses.close()


def build_app(container: Container) -> web.Application:
    app = web.Application(
        middlewares=[request_ids, instrument, refuse_oversized], client_max_size=MAX_BODY_BYTES
    )
    app[CONTAINER] = container
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    # Every route below authenticates its requests, and exists only when what it checks
    # them with is configured (README: HTTP endpoints). Socket Mode mounts nothing here.
    if container.webhook_secrets.configured():
        app.router.add_post("/webhooks/surveys/{provider}", survey_webhook)
    if container.usage_ingest is not None:
        app.router.add_post("/ingest/usage", ingest_usage)
    if container.slack is not None and container.settings.slack_over_http:
        app.router.add_post("/slack/events", slack_events)
    if container.slack_responses is not None:
        app.on_cleanup.append(_close_slack_responses)
    if container.teams is not None:
        app.router.add_post("/api/messages", teams_messages)
        app.on_shutdown.append(_finish_teams)
    # The playground has no login: it exists only when switched on, and serves loopback
    # addresses only (the service refuses to start otherwise, `serve.run`).
    if container.playground is not None:
        add_playground(app, container.playground)
    return app
