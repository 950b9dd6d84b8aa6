"""Running the service: start, wait for a signal, shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.orm import Session

from adapters.bootstrap import Container, build
from adapters.entrypoints.http import build_app
from adapters.platforms.slack.serving import SocketMode, connect_socket_mode, disconnect
from adapters.platforms.web.app import require_loopback
from adapters.settings import Settings
from metrics_core.config import Config
from metrics_core.delivery.targets import Platform
from metrics_core.followups.sla import SlaRun, run_sla
from metrics_core.store.migrate import require_head

log = logging.getLogger(__name__)

HOW_TO_CONFIGURE: dict[str, str] = {
    Platform.SLACK: "set SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN "
    "(README: Connecting Slack)",
    Platform.TEAMS: "set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (README: Microsoft Teams)",
}


async def report_waiting_alerts(container: Container) -> None:
    """Say once, at start, which alerts this process will not send, and what would send them.

    Routing owes alerts to the account owner's Slack or Teams whether or not this process
    has that platform's credentials; they wait in the outbox (another replica with the
    credentials sends them, or this one once configured), which is no error of the
    service, but whoever runs it should know that they wait.
    """
    try:
        waiting = await container.dispatcher.waiting()
    except Exception:  # a report, not a reason to stop serving
        log.exception("could not count the alerts waiting for unconfigured platforms")
        return
    for platform, count in waiting.items():
        how = HOW_TO_CONFIGURE.get(platform, f"configure {platform}")
        log.warning(
            "%d alert%s wait%s for %s, which is not configured here: %s. They stay queued "
            "and are sent once it is.",
            count,
            "" if count == 1 else "s",
            "s" if count == 1 else "",
            platform.capitalize(),
            how,
        )


async def _warm_risk_model(container: Container) -> None:
    """Train today's churn model before the first question needs it, not during it.

    It trains on the model's own worker; questions that come first await the same
    training rather than starting their own.
    """
    today = container.clock().date()
    try:
        model = await container.risk.ready(container.db, today)
    except Exception:  # the first `churn` command retries and reports; serving goes on
        log.exception("could not train the churn model at start")
        return
    log.info(
        "churn risk ready: %s, %d training rows, %d churned accounts",
        model.method.value,
        model.trained_rows,
        model.churned_accounts,
    )


SLA_CHECK_SECONDS = 60.0


async def _sla_loop(container: Container, stop: asyncio.Event) -> None:
    """Remind and escalate unclaimed follow-ups every minute until stopped."""

    def check(session: Session) -> SlaRun:
        return run_sla(
            session, container.config, container.clock(), fallback=container.alerts_fallback
        )

    while not stop.is_set():
        try:
            done = await container.db.write(check)
        except Exception:
            log.exception("SLA check failed; trying again in a minute")
        else:
            if done.reminded or done.escalated:
                log.info("SLA: %d reminded, %d escalated", done.reminded, done.escalated)
                container.dispatcher.wake()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SLA_CHECK_SECONDS)


async def start_socket_mode(container: Container) -> SocketMode | None:
    """Connect to Slack over Socket Mode when an app token is set (no public URL needed)."""
    token = container.settings.slack_app_token
    if container.slack is None or token is None:
        return None
    handler = await connect_socket_mode(container.slack, token.get_secret_value())
    log.info("connected to Slack over Socket Mode")
    return handler


async def shut_down(
    container: Container,
    runner: web.AppRunner,
    socket_mode: SocketMode | None,
    background: list[asyncio.Task[None]],
) -> None:
    """Take nothing new, let the work under way finish within `CLOSELOOP_SHUTDOWN_SECONDS`,
    and leave the rest to the next process, never half done.

    In order: Socket Mode disconnects and the port closes; requests already received get
    their response (Slack's acknowledgement, a webhook's commit); then the work they left
    behind (answers on their way to a response_url, late Teams answers) and the
    dispatcher's round of sends finish. At the deadline whatever still runs is
    cancelled. A cancelled answer is not sent. A cancelled alert is never recorded as
    sent: its outbox row keeps its lease and its in-flight mark, so once the lease runs
    out the next process looks for the message in the chat before posting it, and it is
    delivered once.
    """
    loop = asyncio.get_running_loop()
    seconds = container.settings.shutdown_seconds
    deadline = loop.time() + seconds

    def remaining() -> float:
        # aiohttp reads a timeout of 0 as none at all: keep it positive.
        return max(deadline - loop.time(), 0.001)

    log.info("shutting down: the work under way has %.0f s to finish", seconds)
    if socket_mode is not None:
        await disconnect(socket_mode)
    for site in list(runner.sites):
        await site.stop()
    if runner.server is not None:
        runner.server.pre_shutdown()
        await runner.server.shutdown(remaining())
    await container.work.drain(remaining())
    _, late = await asyncio.wait(background, timeout=remaining())
    for task in late:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    if late:
        log.warning(
            "the shutdown deadline (%.0f s, CLOSELOOP_SHUTDOWN_SECONDS) passed with work "
            "under way; what it interrupted is left for the next process",
            seconds,
        )
    await runner.cleanup()


def check_playground(settings: Settings, host: str) -> None:
    """Refuse to start the playground, which has no login, on a host others can reach
    (`PlaygroundRefused`), unless `CLOSELOOP_PLAYGROUND_ALLOW_REMOTE=1`."""
    require_loopback(
        enabled=settings.playground, allow_remote=settings.playground_allow_remote, host=host
    )


async def run(
    settings: Settings,
    config: Config,
    host: str,
    port: int,
    *,
    listening: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully (`shut_down`).

    The signals are taken before the port opens: a SIGTERM that arrives while the service
    is still starting shuts it down the same graceful way. `listening` is told the
    service's URL once the port is open (`closeloop demo` opens the browser there).
    """
    check_playground(settings, host)
    container = build(settings, config)
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await asyncio.to_thread(require_head, container.db.engine)
        runner = web.AppRunner(build_app(container), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("Closeloop listening on http://%s:%d", host, port)
        address = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
        if container.playground is not None:
            log.info("The playground is at %s (no login)", address)
        if listening is not None:
            listening(address)
        await report_waiting_alerts(container)
        socket_mode = await start_socket_mode(container)
        warming = asyncio.create_task(_warm_risk_model(container))
        background = [
            asyncio.create_task(container.dispatcher.run(stop)),
            asyncio.create_task(_sla_loop(container, stop)),
            asyncio.create_task(container.scheduler.run(stop)),
        ]
        await stop.wait()
        warming.cancel()
        await shut_down(container, runner, socket_mode, background)
    finally:
        container.close()
