"""The aiohttp application: every HTTP route of the service, and nothing but translation."""

from __future__ import annotations

import datetime as dt
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
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from sqlalchemy.orm import Session

from adapters.bootstrap import Container
from adapters.webhooks import WebhookError, parse_delivery
from metrics_core.intake import Intake, record_answer

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
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@web.middleware
async def instrument(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count requests and time them by route template, never by raw path (unbounded labels)."""
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
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
        request.app[REQUESTS].labels(request.method, name, str(status)).inc()
        request.app[LATENCY].labels(request.method, name).observe(time.perf_counter() - started)


async def slack_events(request: web.Request) -> web.Response:
    """Slash commands, buttons and events: one Request URL, handed to slack-bolt as is."""
    slack = request.app[CONTAINER].slack
    assert slack is not None  # the route exists only when Slack is configured
    response = await slack.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)


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


# Survey answers are a few kilobytes; a megabyte is already no survey answer.
WEBHOOK_MAX_BYTES = 1024**2


async def survey_webhook(request: web.Request) -> web.Response:
    """A survey answer: verified, stored with its alerts, and only then acknowledged.

    A 2xx means committed. A database failure answers 503, so the vendor retries, and a
    retry of an answer that did commit changes nothing (the answer is unique per vendor id).
    """
    container = request.app[CONTAINER]
    provider = request.match_info["provider"]
    body = await request.read()
    now = dt.datetime.now(dt.UTC)
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
                default_slack_channel=container.settings.slack_alerts_channel,
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
    app = web.Application(middlewares=[instrument], client_max_size=WEBHOOK_MAX_BYTES)
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
    app.router.add_post("/webhooks/surveys/{provider}", survey_webhook)
    if container.slack is not None:
        app.router.add_post("/slack/events", slack_events)
    if container.slack_responses is not None:
        app.on_cleanup.append(_close_slack_responses)
    if container.teams is not None:
        app.router.add_post("/api/messages", teams_messages)
        app.on_shutdown.append(_finish_teams)
    return app
