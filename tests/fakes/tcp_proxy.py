"""A TCP proxy on loopback that a test can cut and restore: a database going away.

The service is pointed at the proxy instead of the database server. `cut` drops every
connection through it and refuses new ones, as a server that restarts or fails over does
to its clients, without touching the server that other tests share; `restore` forwards
again on the same port, so the service's URL stays valid.

It runs its own event loop in a thread of its own, so that it keeps forwarding while the
test's thread is blocked in a synchronous database call through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> int:
        """Start forwarding from a free loopback port; the port."""
        self._thread.start()
        self._run(self._listen())
        return self.port

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        self._run(self._cut())

    def restore(self) -> None:
        """Forward again, on the same port."""
        self._run(self._listen())

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _accept(self, client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            server_in, server = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client.transport.abort()
            return
        self._links.update((client, server))
        await asyncio.gather(
            _pipe(client_in, server), _pipe(server_in, client), return_exceptions=True
        )
        for writer in (client, server):
            self._links.discard(writer)
            writer.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.transport.abort()
