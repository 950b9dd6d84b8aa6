"""The aiohttp application: every HTTP route of the service, and nothing but translation."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy.orm import Session

from adapters.bootstrap import Container
from adapters.platforms.slack.serving import dispatch
from adapters.platforms.webhooks import WebhookError, parse_delivery
from metrics_core.followups.intake import Intake, record_answer

log = logging.getLogger(__name__)

CONTAINER = web.AppKey("container", Container)
METRICS = web.AppKey("metrics", CollectorRegistry)
REQUESTS = web.AppKey("requests", Counter)
LATENCY = web.AppKey("latency", Histogram)


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
    body = generate_latest(request.app[METRICS])
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
        request.app[REQUESTS].labels(method, name, str(status)).inc()
        request.app[LATENCY].labels(method, name).observe(time.perf_counter() - started)


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


async def _close_slack_responses(app: web.Application) -> None:
    responses = app[CONTAINER].slack_responses
    if responses is not None:
        await responses.close()


def build_app(container: Container) -> web.Application:
    app = web.Application(
        middlewares=[instrument, refuse_oversized], client_max_size=MAX_BODY_BYTES
    )
    registry = CollectorRegistry()
    app[CONTAINER] = container
    app[METRICS] = registry
    app[REQUESTS] = Counter(
        "closeloop_http_requests",
        "HTTP requests served",
        ("method", "route", "status"),
        registry=registry,
    )
    app[LATENCY] = Histogram(
        "closeloop_http_request_seconds",
        "HTTP request latency",
        ("method", "route"),
        registry=registry,
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    # Every route below authenticates its requests, and exists only when what it checks
    # them with is configured (README: HTTP endpoints). Socket Mode mounts nothing here.
    if container.webhook_secrets.configured():
        app.router.add_post("/webhooks/surveys/{provider}", survey_webhook)
    if container.slack is not None and container.settings.slack_over_http:
        app.router.add_post("/slack/events", slack_events)
    if container.slack_responses is not None:
        app.on_cleanup.append(_close_slack_responses)
    if container.teams is not None:
        app.router.add_post("/api/messages", teams_messages)
        app.on_shutdown.append(_finish_teams)
    return app
