"""Running the service: start, wait for a signal, shut down cleanly."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from adapters.bootstrap import build
from adapters.http import build_app
from adapters.settings import Settings
from metrics_core.config import Config
from metrics_core.migrate import require_head

log = logging.getLogger(__name__)


async def run(settings: Settings, config: Config, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; in-flight requests finish before the database closes."""
    container = build(settings, config)
    try:
        await asyncio.to_thread(require_head, container.db.engine)
        runner = web.AppRunner(build_app(container), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("Closeloop listening on http://%s:%d", host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
        await runner.cleanup()
    finally:
        container.close()
